/**
 * Sends one datagram `state` (newline-separated KEY=VALUE assignments, e.g. "READY=1") to
 * `socket`, the value of $NOTIFY_SOCKET: an absolute path, or an abstract name written with a
 * leading '@'. Never blocks. Throws an Error whose `code` is the errno name on failure
 * (ENOENT, ECONNREFUSED, EAGAIN when systemd's queue is full, ...).
 */
export declare function notify(socket: string, state: string): void;

/** CLOCK_MONOTONIC in microseconds: the clock of MONOTONIC_USEC= (sd_notify(3)). */
export declare function monotonicUsec(): bigint;
