package dev.agentconfig.audit;

import dev.agentconfig.config.Beans;
import org.apache.camel.CamelConfiguration;
import org.apache.camel.CamelContext;

/** The audit trail, written in the background to the sink the transport bound ("auditSink"). */
public final class AuditConfiguration implements CamelConfiguration {
    @Override
    public void configure(CamelContext context) throws Exception {
        AuditTrail audit = new AuditTrail(Beans.require(context, "auditSink", AuditSink.class), 10_000);
        context.addService(audit, true, true);
        context.getRegistry().bind("auditTrail", audit);
    }
}
