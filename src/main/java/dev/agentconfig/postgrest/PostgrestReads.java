package dev.agentconfig.postgrest;

import dev.agentconfig.core.UserKey;
import dev.agentconfig.transport.ClassifiedFailureException;
import dev.agentconfig.transport.StoredRow;
import dev.agentconfig.transport.TargetReads;
import dev.agentconfig.transport.TargetRows;

/**
 * The rest transport's {@link TargetReads}: {@code GET /rest/v1/user_profiles?user_id=eq.<uuid>&tenant_id=eq.<tenant>}
 * and the same for user_settings (requests and rows in {@link PostgrestPayloads}), sent through
 * {@link PostgrestClient} (route postgrest-call).
 */
public final class PostgrestReads implements TargetReads {
    private final PostgrestClient client;
    private final PostgrestPayloads payloads;

    public PostgrestReads(PostgrestClient client, PostgrestPayloads payloads) {
        this.client = client;
        this.payloads = payloads;
    }

    @Override
    public StoredRow<TargetRows.ProfileRecord> profile(UserKey key) {
        PostgrestRequest request = payloads.queryProfile(key);
        return payloads.profileRows(new PostgrestAnswer(request, send(request)));
    }

    @Override
    public StoredRow<TargetRows.SettingsRecord> settings(UserKey key) {
        PostgrestRequest request = payloads.querySettings(key);
        return payloads.settingsRows(new PostgrestAnswer(request, send(request)));
    }

    private String send(PostgrestRequest request) {
        PostgrestClient.Result result = client.call(request);
        if (!result.ok()) {
            throw new ClassifiedFailureException(result.failure());
        }
        return result.body();
    }
}
