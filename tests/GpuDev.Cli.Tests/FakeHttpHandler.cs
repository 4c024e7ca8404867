using System.Net;
using System.Text;

namespace GpuDev.Cli.Tests;

internal sealed record RecordedRequest(HttpMethod Method, string PathAndQuery, string? Body, Dictionary<string, string> Headers);

/// <summary>Answers requests from canned responses per "METHOD path" (a queue; the last response repeats) and records them.</summary>
internal sealed class FakeHttpHandler : HttpMessageHandler
{
    private readonly Dictionary<string, Queue<Func<HttpResponseMessage>>> _routes = new(StringComparer.Ordinal);

    public List<RecordedRequest> Requests { get; } = [];

    /// <summary>Runs when a request arrives (before answering), e.g. to press Ctrl+C.</summary>
    public Action<RecordedRequest>? OnRequest { get; set; }

    public Exception? Throw { get; set; }

    public FakeHttpHandler On(string method, string pathAndQuery, HttpStatusCode status, string json)
    {
        var key = $"{method} {pathAndQuery}";
        if (!_routes.TryGetValue(key, out var queue))
        {
            _routes[key] = queue = new Queue<Func<HttpResponseMessage>>();
        }

        queue.Enqueue(() => new HttpResponseMessage(status)
        {
            Content = new StringContent(json, Encoding.UTF8, status >= HttpStatusCode.BadRequest ? "application/problem+json" : "application/json"),
        });
        return this;
    }

    public IEnumerable<RecordedRequest> To(string method, string pathPrefix) =>
        Requests.Where(r => r.Method.Method == method && r.PathAndQuery.StartsWith(pathPrefix, StringComparison.Ordinal));

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var body = request.Content is null ? null : await request.Content.ReadAsStringAsync(cancellationToken);
        var headers = request.Headers.ToDictionary(h => h.Key, h => string.Join(",", h.Value), StringComparer.OrdinalIgnoreCase);
        var recorded = new RecordedRequest(request.Method, request.RequestUri!.PathAndQuery, body, headers);
        Requests.Add(recorded);
        OnRequest?.Invoke(recorded);
        if (Throw is not null)
        {
            throw Throw;
        }

        var key = $"{request.Method.Method} {request.RequestUri.PathAndQuery}";
        if (!_routes.TryGetValue(key, out var queue))
        {
            return new HttpResponseMessage(HttpStatusCode.NotFound)
            {
                Content = new StringContent($$"""{"title":"Not Found","detail":"no fake route for {{key}}","code":"not-found","status":404}"""),
            };
        }

        var next = queue.Count > 1 ? queue.Dequeue() : queue.Peek();
        return next();
    }
}
