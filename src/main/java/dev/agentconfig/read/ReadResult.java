package dev.agentconfig.read;

import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;

import dev.agentconfig.core.Field;

/** A finished read: what each location answered and the winning value of each field. */
public record ReadResult(String tenantId, UUID userId, List<LocationReading> readings,
                         Map<Field, FieldValue> winners) {

    public LocationReading reading(Source source) {
        return readings.stream().filter(r -> r.source() == source).findFirst()
                .orElse(LocationReading.timedOut(source));
    }

    public Optional<FieldValue> winner(Field field) {
        return Optional.ofNullable(winners.get(field));
    }

    /** Some location holds a row or an entry for this user under this tenant. */
    public boolean found() {
        return readings.stream().anyMatch(r -> r.status() == LocationStatus.OK);
    }

    /** Every location answered (found something or nothing); none failed or timed out. */
    public boolean allAnswered() {
        return readings.stream().allMatch(r -> r.status().answered());
    }
}
