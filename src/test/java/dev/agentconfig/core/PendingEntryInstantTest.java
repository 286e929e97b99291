package dev.agentconfig.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.List;
import java.util.Random;

import org.junit.jupiter.api.Test;

/** An entry's stored instants read by its own reader exactly as {@link Instant#parse} reads them, and refused alike. */
class PendingEntryInstantTest {

    @Test
    void everyShapeInstantWritesIsReadBackTheSame() {
        Random random = new Random(20);
        for (int i = 0; i < 20_000; i++) {
            long seconds = random.nextLong(Instant.parse("1970-01-01T00:00:00Z").getEpochSecond(),
                    Instant.parse("2200-12-31T23:59:59Z").getEpochSecond());
            int nanos = switch (i % 4) {
                case 0 -> 0;
                case 1 -> random.nextInt(1000) * 1_000_000;
                case 2 -> random.nextInt(1_000_000) * 1_000;
                default -> random.nextInt(1_000_000_000);
            };
            String text = Instant.ofEpochSecond(seconds, nanos).toString();
            assertThat(PendingEntry.instant(text)).as(text).isEqualTo(Instant.parse(text));
        }
        for (String text : List.of("2024-02-29T23:59:59Z", "2026-12-07T20:30:05.404031623Z", "2026-01-01T00:00:00.1Z")) {
            assertThat(PendingEntry.instant(text)).as(text).isEqualTo(Instant.parse(text));
        }
    }

    @Test
    void oddShapesAreReadOrRefusedExactlyAsInstantParseDoes() {
        for (String text : List.of("2026-02-30T00:00:00Z", "2026-13-01T00:00:00Z", "2026-01-01T24:00:00Z",
                "2026-01-01T00:60:00Z", "2026-01-01T00:00:00.Z", "2026-01-01T00:00:00.1234567890Z", "2026-01-01 00:00:00Z",
                "2026-01-01T00:00:0xZ", "+12026-01-01T00:00:00Z", "not an instant")) {
            Instant expected;
            try {
                expected = Instant.parse(text);
            } catch (DateTimeParseException e) {
                assertThatThrownBy(() -> PendingEntry.instant(text)).as(text).isInstanceOf(DateTimeParseException.class);
                continue;
            }
            assertThat(PendingEntry.instant(text)).as(text).isEqualTo(expected);
        }
    }
}
