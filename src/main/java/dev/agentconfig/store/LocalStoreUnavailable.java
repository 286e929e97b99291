package dev.agentconfig.store;

/**
 * The local store could not make an entry durable (disk full, permission, an I/O error): nothing that
 * depended on it may be acknowledged. The API answers 503; the inbox leaves its file in place.
 */
public final class LocalStoreUnavailable extends RuntimeException {
    public LocalStoreUnavailable(String message, Throwable cause) {
        super(message, cause);
    }
}
