package dev.agentconfig.postgrest;

/**
 * PostgREST's 2xx answer to a request: the request (and what it was about) and the body (JSON text,
 * or null when it sent none). An error answer is never one of these: it is thrown, classified.
 */
public record PostgrestAnswer(PostgrestRequest request, String body) {
    @Override
    public String toString() {
        return "PostgrestAnswer[" + request + "]";
    }
}
