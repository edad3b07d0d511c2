/* Telling a supervisor that the relay is ready: the sd_notify protocol
 * (systemd's Type=notify, and the test harness), without libsystemd. */
#ifndef WSRELAY_READINESS_H
#define WSRELAY_READINESS_H

/* Sends "READY=1" to the datagram socket named by $NOTIFY_SOCKET (a path,
 * or an abstract name starting with '@'), if set. Call it once every
 * listener is open and the workers behind them are up: from then on a
 * client that connects is served at once. Main thread, once. */
void readiness_notify_ready(void);

#endif
