package dev.agentconfig.store;

import dev.agentconfig.config.Beans;
import org.apache.camel.CamelConfiguration;
import org.apache.camel.CamelContext;

/**
 * The local store under {@code <data-dir>/local-store} and its health checks; a test may bind its own
 * Disk ("localStoreDisk").
 */
public final class StoreConfiguration implements CamelConfiguration {
    @Override
    public void configure(CamelContext context) {
        Disk disk = Beans.optional(context, "localStoreDisk", Disk.class);
        LocalStore store = new LocalStore(Beans.settings(context).localStoreDir(), disk == null ? Disk.system() : disk);
        context.getRegistry().bind("localStore", store);
        LocalStoreChecks.register(context, store, Beans.settings(context).maxPendingAge());
    }
}
