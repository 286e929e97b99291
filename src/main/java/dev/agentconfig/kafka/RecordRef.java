package dev.agentconfig.kafka;

import java.util.regex.Pattern;

import dev.agentconfig.core.UserKey;

/**
 * Where a record of the saves topic came from: what the door keeps of the consumer's message (the
 * record's own headers are dropped).
 *
 * @param timestamp   the record's timestamp (ms since the epoch; -1 when it has none): the save's editedAt
 *                    when the message carries none, so a redelivery keeps its original order
 * @param lastInBatch the last record of its partition in this poll: its offset is committed with it
 */
public record RecordRef(String topic, int partition, long offset, long timestamp, String key, boolean lastInBatch) {
    private static final Pattern KEY = Pattern.compile("([A-Za-z0-9][A-Za-z0-9_-]{0,63}):([0-9a-fA-F-]{36})");

    /** The user the key names (tenantId:userId), or null when the key is not of that shape. */
    public UserKey keyUser() {
        if (key == null) {
            return null;
        }
        var m = KEY.matcher(key);
        if (!m.matches() || !UserKey.validUser(m.group(2))) {
            return null;
        }
        return UserKey.of(m.group(1), m.group(2));
    }

    /** The key when it is a well-formed tenantId:userId (shown in logs and the dead-letter topic); else null. */
    public String printableKey() {
        UserKey user = keyUser();
        return user == null ? null : user.tenantId() + ":" + user.userId();
    }

    @Override
    public String toString() {
        return topic + "-" + partition + "@" + offset;
    }
}
