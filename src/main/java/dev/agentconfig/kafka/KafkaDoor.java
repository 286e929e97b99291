package dev.agentconfig.kafka;

import java.time.Instant;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

import dev.agentconfig.core.InvalidSave;
import dev.agentconfig.core.Origin;
import dev.agentconfig.core.SaveCommand;
import dev.agentconfig.core.SaveOutcome;
import dev.agentconfig.core.UserKey;
import dev.agentconfig.inbox.InboxSteps;
import dev.agentconfig.save.Refusal;
import dev.agentconfig.save.SaveCommandParser;
import dev.agentconfig.save.Saving;
import org.apache.camel.Exchange;
import org.apache.camel.ExchangeProperty;
import org.apache.camel.Message;
import org.apache.camel.component.kafka.KafkaConstants;
import org.apache.kafka.common.TopicPartition;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Steps of route kafka-saves (routes/kafka.camel.yaml), the Kafka front door: a record of the saves
 * topic is one save message (tenantId, userId, editedAt and the fields in its JSON, the key
 * {@code tenantId:userId}); it goes through direct:save like any other save. Its offset is committed
 * only once the save returned durable (both tables, or parked in the local store) or the record went
 * to the dead-letter topic; a record that could not be made durable (503) is held back: the offsets
 * before it are committed, its own is not, and it is read again.
 */
public final class KafkaDoor {
    private static final Logger LOG = LoggerFactory.getLogger(KafkaDoor.class);
    private static final String RECORD = "agentconfig.kafka.record";
    private static final String ORIGINAL = "agentconfig.kafka.original";
    private static final String COMMIT = "agentconfig.kafka.commit";
    private static final String REFUSAL = "agentconfig.kafka.refusal";

    /** Headers of a dead-letter record (all text, so kafka-console-consumer prints them). */
    static final String HEADER_REASON = "agentconfig-reason";
    static final String HEADER_STATUS = "agentconfig-status";
    static final String HEADER_PROBLEM = "agentconfig-problem";
    static final String HEADER_FAILURE_CLASS = "agentconfig-failure-class";
    static final String HEADER_FAILURE_CODE = "agentconfig-failure-code";
    static final String HEADER_SOURCE_TOPIC = "agentconfig-source-topic";
    static final String HEADER_SOURCE_PARTITION = "agentconfig-source-partition";
    static final String HEADER_SOURCE_OFFSET = "agentconfig-source-offset";
    static final String HEADER_SOURCE_TIMESTAMP = "agentconfig-source-timestamp";
    static final String HEADER_REDACTION = "agentconfig-redaction";
    static final String HEADER_SAVE_ID = "agentconfig-save-id";
    static final String HEADER_LOCAL_STORE = "agentconfig-local-store";

    private final SaveCommandParser parser = new SaveCommandParser();
    private final Saving saving;
    private final KafkaMeters meters;
    private final String deadLetterTopic;
    /** Per partition, the first and last offset done since its last commit (this instance). */
    private final Map<TopicPartition, long[]> uncommitted = new ConcurrentHashMap<>();

    public KafkaDoor(Saving saving, KafkaMeters meters, String deadLetterTopic) {
        this.saving = saving;
        this.meters = meters;
        this.deadLetterTopic = deadLetterTopic;
    }

    /**
     * Exchange: the consumer's message (an edge). Where the record came from is kept in a property and
     * the record's own headers are dropped: nothing a producer sets as a header reaches the save.
     */
    public byte[] receive(Exchange exchange) {
        Message m = exchange.getMessage();
        Object key = m.getHeader(KafkaConstants.KEY);
        RecordRef record = new RecordRef(m.getHeader(KafkaConstants.TOPIC, String.class),
                m.getHeader(KafkaConstants.PARTITION, Integer.class), m.getHeader(KafkaConstants.OFFSET, Long.class),
                Optional.ofNullable(m.getHeader(KafkaConstants.TIMESTAMP, Long.class)).orElse(-1L),
                key == null ? null : key.toString(),
                Boolean.TRUE.equals(m.getHeader(KafkaConstants.LAST_RECORD_BEFORE_COMMIT, Boolean.class)));
        byte[] body = m.getBody(byte[].class);
        exchange.setProperty(RECORD, record);
        exchange.setProperty(ORIGINAL, body);
        exchange.setProperty(COMMIT, m.getHeader(KafkaConstants.MANUAL_COMMIT, OffsetCommits.Commit.class));
        m.getHeaders().clear();
        m.setBody(body);
        return body;
    }

    /**
     * The record as a save command. Whose: the JSON's tenantId and userId, which must be the ones the
     * key names (a record cannot save for another user than its partition key says). When: the
     * message's editedAt, else the record's timestamp, so a redelivered old record keeps its place.
     */
    public SaveCommand command(byte[] body, @ExchangeProperty(RECORD) RecordRef record) {
        SaveCommand parsed = parser.message(body, Origin.KAFKA);
        if (record.key() == null) {
            throw new InvalidSave("the record has no key: key each record tenantId:userId, so that one user's saves "
                    + "stay in order on one partition");
        }
        UserKey keyed = record.keyUser();
        if (keyed == null || !keyed.equals(parsed.user())) {
            throw new InvalidSave("the record key does not name the message's tenantId and userId: a record is saved "
                    + "only for the user its key names (tenantId:userId)");
        }
        if (parsed.editedAt().isPresent() || record.timestamp() < 0) {
            return parsed;
        }
        return new SaveCommand(parsed.user(), parsed.changes(), Optional.of(Instant.ofEpochMilli(record.timestamp())),
                Optional.empty(), Origin.KAFKA);
    }

    /** The save's answer, counted. */
    public SaveOutcome saved(SaveOutcome outcome) {
        meters.consumed(outcome.status());
        return outcome;
    }

    /**
     * A quarantined save (the database refused the data) is parked in this instance's local store by
     * the save path, and also told on the dead-letter topic. Exchange: builds the producer's message (an edge).
     */
    public void deadLetterQuarantined(Exchange exchange) {
        SaveOutcome outcome = exchange.getMessage().getBody(SaveOutcome.class);
        RecordRef record = exchange.getProperty(RECORD, RecordRef.class);
        String failureClass = outcome.failure().map(f -> f.failureClass().id()).orElse("rejected");
        String code = outcome.failure().map(dev.agentconfig.core.Failure::code).orElse("");
        String reason = "quarantined: the database refused the save"
                + outcome.failure().map(f -> " (" + f.code() + ": " + f.message() + ")").orElse("")
                + "; it is parked in the local store of the instance that consumed it until an operator retries it";
        Message m = deadLetter(exchange, "202", "quarantined", failureClass, reason);
        m.setHeader(HEADER_FAILURE_CODE, code);
        m.setHeader(HEADER_SAVE_ID, outcome.saveId().toString());
        UserKey user = record.keyUser();
        m.setHeader(HEADER_LOCAL_STORE, user == null ? "parked"
                : "parked: after fixing the cause, POST /api/v1/agent-config/" + user.tenantId() + "/" + user.userId()
                        + "/retry");
        LOG.warn("Kafka record {} (key {}) quarantined: {}; sent to {}", record, record.printableKey(), reason,
                deadLetterTopic);
    }

    /** A record that was not saved, audited like at every door. Exchange: the error-handler glue of the door. */
    public void refusal(Exchange exchange) {
        Throwable error = exchange.getProperty(Exchange.EXCEPTION_CAUGHT, Throwable.class);
        RecordRef record = exchange.getProperty(RECORD, RecordRef.class);
        Refusal refusal = saving.refused(exchange.getMessage().getBody(), record == null ? null : record.keyUser(),
                error);
        exchange.setProperty(REFUSAL, refusal);
        meters.consumed(refusal.sendersMistake() ? "refused" : "held-back");
    }

    /** Sent again as it is it would be refused again: dead-lettered, and its offset committed. */
    public boolean sendersMistake(@ExchangeProperty(REFUSAL) Refusal refusal) {
        return refusal != null && refusal.sendersMistake();
    }

    /** The refused record on the dead-letter topic, with the reason. Exchange: builds the producer's message. */
    public void deadLetterRefused(Exchange exchange) {
        Refusal refusal = exchange.getProperty(REFUSAL, Refusal.class);
        RecordRef record = exchange.getProperty(RECORD, RecordRef.class);
        String failureClass = refusal.status() == 409 ? dev.agentconfig.core.FailureClass.TENANT_CONFLICT.id() : "invalid";
        deadLetter(exchange, String.valueOf(refusal.status()), refusal.type(), failureClass, refusal.detail());
        LOG.warn("Kafka record {} (key {}) refused ({} {}): {}; sent to {}", record, record.printableKey(),
                refusal.status(), refusal.type(), refusal.detail(), deadLetterTopic);
    }

    /**
     * The dead-letter record: the record's JSON with the key redacted (as the inbox keeps a refused
     * message; not kept at all when it is not a JSON object), keyed by the same tenantId:userId when the
     * key had that shape, and headers saying why and where from.
     */
    private Message deadLetter(Exchange exchange, String status, String problem, String failureClass, String reason) {
        RecordRef record = exchange.getProperty(RECORD, RecordRef.class);
        InboxSteps.SetAside aside = InboxSteps.setAside(exchange.getProperty(ORIGINAL, byte[].class));
        Message m = exchange.getMessage();
        m.getHeaders().clear();
        m.setBody(aside.copy() == null ? new byte[0] : aside.copy());
        String key = record.printableKey();
        if (key != null) {
            m.setHeader(KafkaConstants.KEY, key);
        }
        m.setHeader(HEADER_STATUS, status);
        m.setHeader(HEADER_PROBLEM, problem);
        m.setHeader(HEADER_FAILURE_CLASS, failureClass);
        m.setHeader(HEADER_REASON, reason);
        m.setHeader(HEADER_SOURCE_TOPIC, record.topic());
        m.setHeader(HEADER_SOURCE_PARTITION, String.valueOf(record.partition()));
        m.setHeader(HEADER_SOURCE_OFFSET, String.valueOf(record.offset()));
        m.setHeader(HEADER_SOURCE_TIMESTAMP, String.valueOf(record.timestamp()));
        m.setHeader(HEADER_REDACTION, aside.note());
        return m;
    }

    /** The dead-letter topic took it (acknowledged). */
    public void deadLettered(@ExchangeProperty(REFUSAL) Refusal refusal) {
        meters.deadLettered(refusal == null ? "quarantined" : refusal.type());
    }

    /**
     * Done with the record (durable, or dead-lettered): its offset counts as done; the last record of its
     * partition in this poll commits them all. Exchange: the consumer's commit handle (an edge).
     */
    public void done(Exchange exchange) {
        RecordRef record = exchange.getProperty(RECORD, RecordRef.class);
        OffsetCommits.Commit commit = exchange.getProperty(COMMIT, OffsetCommits.Commit.class);
        if (commit == null) {
            return;
        }
        TopicPartition tp = commit.partition();
        meters.released(tp.toString());
        uncommitted.compute(tp, (k, span) -> span == null || span[1] + 1 != record.offset()
                ? new long[] {record.offset(), record.offset()} : new long[] {span[0], record.offset()});
        if (record.lastInBatch()) {
            commit.commit();
            long[] span = uncommitted.remove(tp);
            meters.committed(span == null ? 1 : span[1] - span[0] + 1);
        }
    }

    /**
     * Not durable (503: the database and the local store both failed) or failed unexpectedly: the records
     * before it on its partition are committed, this one is not; after agentconfig.kafka.retry-delay it is
     * thrown on and camel-kafka reads it again (breakOnFirstError). Exchange: the door's error glue.
     */
    public void holdBack(Exchange exchange) {
        RecordRef record = exchange.getProperty(RECORD, RecordRef.class);
        Refusal refusal = exchange.getProperty(REFUSAL, Refusal.class);
        OffsetCommits.Commit commit = exchange.getProperty(COMMIT, OffsetCommits.Commit.class);
        if (commit != null) {
            long[] span = uncommitted.remove(commit.partition());
            if (span != null && span[1] + 1 == record.offset()) {
                commit.commitBefore();
                meters.committed(span[1] - span[0] + 1);
            }
        }
        meters.heldBack(record.topic() + "-" + record.partition(), refusal.status() + " " + refusal.type() + " on " + record);
        LOG.warn("Kafka record {} (key {}) not saved now ({} {}: {}); its offset is not committed, it is read "
                + "again", record, record.printableKey(), refusal.status(), refusal.type(), refusal.detail());
    }

    /** Thrown on: camel-kafka seeks back to this record and polls it again. */
    public void retryLater(Exchange exchange) throws Exception {
        Throwable error = exchange.getProperty(Exchange.EXCEPTION_CAUGHT, Throwable.class);
        throw error instanceof Exception e ? e : new IllegalStateException(error);
    }
}
