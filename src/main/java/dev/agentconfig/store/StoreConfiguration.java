package dev.agentconfig.store;

import dev.agentconfig.config.Beans;
import org.apache.camel.CamelConfiguration;
import org.apache.camel.CamelContext;

/** The local store under {@code <data-dir>/local-store}; a test may bind its own Disk ("localStoreDisk"). */
public final class StoreConfiguration implements CamelConfiguration {
    @Override
    public void configure(CamelContext context) {
        Disk disk = Beans.optional(context, "localStoreDisk", Disk.class);
        context.getRegistry().bind("localStore",
                new LocalStore(Beans.settings(context).localStoreDir(), disk == null ? Disk.system() : disk));
    }
}
