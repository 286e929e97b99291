package dev.agentconfig.config;

import org.apache.camel.CamelContext;

/** Looking up a bean another feature's configuration bound before this one (AppConfiguration's order). */
public final class Beans {
    private Beans() {
    }

    public static <T> T require(CamelContext context, String name, Class<T> type) {
        T bean = context.getRegistry().lookupByNameAndType(name, type);
        if (bean == null) {
            throw new IllegalStateException("bean '" + name + "' (" + type.getSimpleName() + ") is not bound yet: "
                    + "check the order of the configurations in AppConfiguration");
        }
        return bean;
    }

    /** A bean a test may bind before start to replace the default (a recording disk, a stepped clock). */
    public static <T> T optional(CamelContext context, String name, Class<T> type) {
        return context.getRegistry().lookupByNameAndType(name, type);
    }

    public static Settings settings(CamelContext context) {
        return require(context, "settings", Settings.class);
    }
}
