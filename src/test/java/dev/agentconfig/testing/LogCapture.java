package dev.agentconfig.testing;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.ArrayList;
import java.util.List;

import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.core.LogEvent;
import org.apache.logging.log4j.core.LoggerContext;
import org.apache.logging.log4j.core.appender.AbstractAppender;
import org.apache.logging.log4j.core.config.Configuration;
import org.apache.logging.log4j.core.config.LoggerConfig;
import org.apache.logging.log4j.core.config.Property;

/** Captures every log event of the process (message, MDC and stack trace) while attached. */
public final class LogCapture extends AbstractAppender {
    private final List<String> lines = new ArrayList<>();

    private LogCapture() {
        super("test-capture", null, null, true, Property.EMPTY_ARRAY);
    }

    public static LogCapture attach() {
        LogCapture capture = new LogCapture();
        capture.start();
        LoggerContext ctx = (LoggerContext) LogManager.getContext(false);
        Configuration config = ctx.getConfiguration();
        config.addAppender(capture);
        LoggerConfig root = config.getRootLogger();
        root.addAppender(capture, null, null);
        for (LoggerConfig lc : config.getLoggers().values()) {
            if (lc != root) {
                lc.addAppender(capture, null, null);
            }
        }
        ctx.updateLoggers();
        return capture;
    }

    public void detach() {
        LoggerContext ctx = (LoggerContext) LogManager.getContext(false);
        Configuration config = ctx.getConfiguration();
        for (LoggerConfig lc : config.getLoggers().values()) {
            lc.removeAppender(getName());
        }
        config.getRootLogger().removeAppender(getName());
        ctx.updateLoggers();
        stop();
    }

    @Override
    public synchronized void append(LogEvent event) {
        StringBuilder sb = new StringBuilder();
        sb.append(event.getLevel()).append(' ').append(event.getLoggerName()).append(' ')
                .append(event.getContextData()).append(' ').append(event.getMessage().getFormattedMessage());
        if (event.getThrown() != null) {
            StringWriter sw = new StringWriter();
            event.getThrown().printStackTrace(new PrintWriter(sw));
            sb.append('\n').append(sw);
        }
        lines.add(sb.toString());
    }

    public synchronized String text() {
        return String.join("\n", lines);
    }

    public synchronized List<String> lines() {
        return List.copyOf(lines);
    }
}
