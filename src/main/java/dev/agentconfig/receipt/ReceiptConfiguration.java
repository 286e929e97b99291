package dev.agentconfig.receipt;

import java.time.Clock;

import dev.agentconfig.audit.AuditTrail;
import dev.agentconfig.config.Beans;
import dev.agentconfig.crypto.FieldCipher;
import dev.agentconfig.store.LocalStore;
import org.apache.camel.CamelConfiguration;
import org.apache.camel.CamelContext;

/**
 * Receipts (routes/api-receipts.camel.yaml) and the history of the values that lost (routes/api-history.camel.yaml):
 * receipts derived from what the transport bound as "saveRecords" (the jdbc
 * transport's db/JdbcSaveRecords). Over PostgREST none is bound: a receipt is answered 501.
 */
public final class ReceiptConfiguration implements CamelConfiguration {
    @Override
    public void configure(CamelContext context) {
        SaveRecords records = Beans.optional(context, "saveRecords", SaveRecords.class);
        context.getRegistry().bind("receipts", new Receipts(records, Beans.require(context, "localStore",
                LocalStore.class), ReceiptSettings.from(context), Clock.systemUTC()));
        context.getRegistry().bind("history", new History(Beans.optional(context, "fieldHistory", FieldHistory.class),
                records, Beans.require(context, "fieldCipher", FieldCipher.class), HistorySettings.from(context),
                Beans.require(context, "auditTrail", AuditTrail.class), Clock.systemUTC()));
    }
}
