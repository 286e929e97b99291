package dev.agentconfig.store;

import dev.agentconfig.config.Beans;
import org.apache.camel.CamelConfiguration;
import org.apache.camel.CamelContext;

/**
 * The local store under {@code <data-dir>/local-store}, the progress of its drain ("drainProgress") and
 * its health checks; a test may bind its own
 * Disk ("localStoreDisk").
 */
public final class StoreConfiguration implements CamelConfiguration {
    @Override
    public void configure(CamelContext context) {
        Disk disk = Beans.optional(context, "localStoreDisk", Disk.class);
        int knownTenants = context.getPropertiesComponent().resolveProperty("agentconfig.local-store.known-tenants")
                .map(String::trim).filter(v -> !v.isEmpty()).map(Integer::parseInt).orElse(LocalStore.KNOWN_TENANTS);
        int loadedEntries = context.getPropertiesComponent().resolveProperty("agentconfig.local-store.loaded-entries")
                .map(String::trim).filter(v -> !v.isEmpty()).map(Integer::parseInt).orElse(LocalStore.LOADED_ENTRIES);
        LocalStore store = new LocalStore(Beans.settings(context).localStoreDir(), disk == null ? Disk.system() : disk,
                knownTenants, loadedEntries);
        context.getRegistry().bind("localStore", store);
        DrainProgress drain = new DrainProgress();
        context.getRegistry().bind("drainProgress", drain);
        LocalStoreChecks.register(context, store, drain, Beans.settings(context).maxPendingAge());
    }
}
