package dev.agentconfig.inbox;

import dev.agentconfig.config.Beans;
import dev.agentconfig.save.Saving;
import org.apache.camel.CamelConfiguration;
import org.apache.camel.CamelContext;

/** The file inbox, a front door of its own (routes/inbox.camel.yaml). */
public final class InboxConfiguration implements CamelConfiguration {
    @Override
    public void configure(CamelContext context) {
        context.getRegistry().bind("inboxSteps",
                new InboxSteps(Beans.settings(context).inboxDir(), Beans.require(context, "saving", Saving.class)));
    }
}
