/* A deliberately low-level WebSocket client (RFC 6455) for integration tests.
 *
 * Unlike a real client it never "fixes" what it is told to send: callers pick
 * every header bit, whether to mask, and may declare lengths they never
 * deliver, so the tests can feed the relay malformed input. The reading side,
 * in contrast, is strict: anything the server sends that breaks RFC 6455 is
 * reported as WS_ERROR, because catching server bugs is the point.
 *
 * No global state: one struct ws_raw per connection, usable from any thread
 * (but a single struct must not be used by two threads at once).
 *
 * Timeouts are in milliseconds; a negative timeout means "wait forever" and 0
 * means "only what is already available". Sockets are created close-on-exec
 * so that servers spawned later by the tests do not inherit (and keep alive)
 * client connections. Link with -lcrypto. */
#ifndef WSRELAY_TESTS_WS_RAW_H
#define WSRELAY_TESTS_WS_RAW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Frames or assembled messages beyond this are refused rather than buffered. */
#define WS_RAW_MAX_PAYLOAD ((size_t)64 * 1024 * 1024)

enum ws_raw_opcode {
	WS_OP_CONT = 0x0,
	WS_OP_TEXT = 0x1,
	WS_OP_BINARY = 0x2,
	WS_OP_CLOSE = 0x8,
	WS_OP_PING = 0x9,
	WS_OP_PONG = 0xA,
};

#define WS_FIN  0x80u
#define WS_RSV1 0x40u
#define WS_RSV2 0x20u
#define WS_RSV3 0x10u

enum ws_raw_result {
	WS_FRAME = 1,
	WS_TIMEOUT = 0,
	WS_EOF = -1,   /* orderly close or connection reset by the peer */
	WS_ERROR = -2, /* protocol violation by the server, or a local I/O error */
};

struct ws_raw {
	/* Received but not yet consumed bytes live in buf[start, end). */
	uint8_t *buf;
	size_t cap;
	size_t start;
	size_t end;
	char *http_head; /* the handshake response head, NUL-terminated, or NULL */
	void *ssl;       /* the connection's SSL object for wss://, else NULL */
	int fd;          /* -1 when not connected; free to use directly for odd writes */
	bool peer_reset; /* the last WS_EOF was an RST rather than a FIN */
	char err[160];   /* why the last call failed, for test diagnostics */
};

struct ws_raw_frame {
	uint8_t first_byte; /* FIN, RSV1-3 and opcode exactly as received */
	uint8_t opcode;
	bool fin;
	uint8_t *payload; /* malloc'd, always NUL-terminated (not counted in len) */
	size_t len;
	/* For close frames with len >= 2, the status code; the UTF-8 reason is then
	 * payload + 2. 0 when absent (RFC 6455 calls that 1005). */
	uint16_t close_code;
};

/* Connects to 127.0.0.1:port within timeout_ms. Returns a blocking,
 * close-on-exec socket, or -1 with errno set. */
int tcp_connect_loopback(uint16_t port, int timeout_ms);

/* Prepares c for use without connecting, so ws_raw_close is always safe. */
void ws_raw_init(struct ws_raw *c);

/* Performs the opening handshake on path (NULL means "/"). extra_headers, if
 * not NULL, is inserted verbatim and must end every line with "\r\n".
 *
 * *http_status (if http_status is not NULL) receives the response status, or
 * 0 when no status line could be read. Returns 0 only for a 101 response with
 * the correct Sec-WebSocket-Accept and Upgrade headers, -1 otherwise.
 *
 * Whatever the result, c owns resources afterwards and the caller must call
 * ws_raw_close. On a non-101 reply the connection is left open and the
 * response head is in c->http_head, so the body can be read with
 * ws_raw_read_bytes. Bytes following a 101 head stay buffered for the frame
 * reader. */
int ws_raw_connect(struct ws_raw *c, uint16_t port, const char *path, const char *extra_headers,
                   int *http_status, int timeout_ms);

/* ws_raw_connect over TLS: ssl_ctx (an SSL_CTX *) is the client's context,
 * with whatever trust, certificate and versions the test wants; the server
 * name sent and checked is "localhost" when the context verifies. The TLS
 * handshake failing is a -1 like any other (c->err says why). */
int ws_raw_connect_tls(struct ws_raw *c, uint16_t port, void *ssl_ctx, const char *path,
                       const char *extra_headers, int *http_status, int timeout_ms);

/* ws_raw_connect (ssl_ctx NULL) or ws_raw_connect_tls with the socket's
 * receive buffer set to rcvbuf bytes before it connects: a client on a
 * slow link, whose window stays small. */
int ws_raw_connect_rcvbuf(struct ws_raw *c, uint16_t port, void *ssl_ctx, const char *path,
                          int rcvbuf, int *http_status, int timeout_ms);

/* Only the TLS handshake, no WebSocket: for https:// requests and for
 * handshake tests. Returns 0 or -1 (c->err says why). */
int ws_raw_tls_only(struct ws_raw *c, uint16_t port, void *ssl_ctx, int timeout_ms);

/* Closes the socket and frees all buffers; c may be reused after
 * ws_raw_init or ws_raw_connect. Safe to call twice. */
void ws_raw_close(struct ws_raw *c);

/* Sends raw_request verbatim on a fresh connection and reads the reply until
 * the server closes or the Content-Length body has arrived (responses that
 * cannot have a body: 1xx, 204, 304 and replies to HEAD). The reply, head and
 * body, is copied NUL-terminated into resp (truncated to resp_cap - 1 bytes;
 * resp may be NULL when resp_cap is 0). Returns the status code, or -1 on
 * connect failure, timeout before a complete reply, or a garbled status line.
 * A reply with neither Content-Length nor a server close is accepted at the
 * timeout once its head is complete. */
int http_request(uint16_t port, const char *raw_request, char *resp, size_t resp_cap,
                 int timeout_ms);

/* All senders return 0 once every byte is handed to the kernel, -1 otherwise
 * (c->err says why). A send that cannot progress for WS_RAW_SEND_TIMEOUT_MS
 * fails with EAGAIN, so a server that stops reading cannot hang a test. */
#define WS_RAW_SEND_TIMEOUT_MS 5000

/* Sends bytes with no framing at all (split frames, garbage, ...). */
int ws_raw_send_bytes(struct ws_raw *c, const void *data, size_t len);

/* Sends one frame with first_byte as given and the minimal, correct length
 * encoding. With mask, a fresh random key is used. No limits are enforced, so
 * oversized or fragmented control frames can be produced on purpose. */
int ws_raw_send_frame(struct ws_raw *c, uint8_t first_byte, const void *payload, size_t len,
                      bool mask);

/* Sends only a masked frame header announcing declared_len payload bytes. */
int ws_raw_send_header_only(struct ws_raw *c, uint8_t first_byte, uint64_t declared_len);

/* Masked, final text/binary frames. */
int ws_raw_send_text(struct ws_raw *c, const char *s);
int ws_raw_send_binary(struct ws_raw *c, const void *data, size_t len);

/* A masked close frame. code 0 sends an empty payload; reason may be NULL. */
int ws_raw_send_close(struct ws_raw *c, uint16_t code, const char *reason);

/* Reads exactly one frame. Returns WS_FRAME (out filled, free it with
 * ws_raw_frame_free), WS_TIMEOUT (a partially received frame stays buffered),
 * WS_EOF or WS_ERROR. out is zeroed on every non-frame result. */
int ws_raw_read_frame(struct ws_raw *c, struct ws_raw_frame *out, int timeout_ms);

/* Reads the next message: pongs are dropped, pings answered with a masked
 * pong, fragmented messages reassembled (out->opcode is the first fragment's,
 * out->fin true). Close frames are returned as they are (fragments received
 * before them are dropped). timeout_ms bounds the whole call; a timeout in the
 * middle of a fragmented message loses the fragments read so far. Returns
 * like ws_raw_read_frame. */
int ws_raw_read_message(struct ws_raw *c, struct ws_raw_frame *out, int timeout_ms);

void ws_raw_frame_free(struct ws_raw_frame *f);

/* Reads up to cap raw bytes (buffered ones first) waiting at most timeout_ms
 * for the first. Returns the count, 0 on EOF, -1 on timeout or error. */
long ws_raw_read_bytes(struct ws_raw *c, void *dst, size_t cap, int timeout_ms);

/* Discards whatever arrives until the server closes the TCP connection.
 * Returns 0 on EOF (FIN or RST) within timeout_ms, -1 otherwise. */
int ws_raw_expect_eof(struct ws_raw *c, int timeout_ms);

#endif
