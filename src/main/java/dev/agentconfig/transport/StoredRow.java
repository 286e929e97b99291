package dev.agentconfig.transport;

import java.util.Optional;

import dev.agentconfig.core.UserKey;

/** A read leaf's answer: whose row was asked for, and the row when the table holds one. */
public record StoredRow<T>(UserKey key, Optional<T> row) {
}
