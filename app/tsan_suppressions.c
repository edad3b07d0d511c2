/* Under ThreadSanitizer only: races inside libraries we cannot fix here,
 * each with why. The runtime reads this function at start, so every run of
 * the binary (tests, CI) gets the same list without TSAN_OPTIONS.
 *
 * cluster_stop: libnats 3.4 closes a TLS connection (natsConnection_Close,
 * under its connection lock) while its own reader thread is still inside
 * SSL_read on the same SSL object without that lock. TSan reports the
 * write buffer of the SSL object, written by libssl on the library's thread
 * and sent by libcrypto's write() on ours; both frames are in the NATS C
 * client. Only the shutdown of the cluster is matched: races in our own
 * NATS callbacks (which run on the library's threads, not under
 * cluster_stop) are still reported. */
#if defined(__SANITIZE_THREAD__)
const char *__tsan_default_suppressions(void);

const char *__tsan_default_suppressions(void)
{
	return "race:cluster_stop\n";
}
#endif
