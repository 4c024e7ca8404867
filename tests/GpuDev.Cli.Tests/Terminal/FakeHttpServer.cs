using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace GpuDev.Cli.Tests.Terminal;

/// <summary>A tiny HTTP/1.1 server on 127.0.0.1 (TcpListener, one request per connection) answering canned JSON per
/// "METHOD path", for driving the real gpu-dev binary. Records every request.</summary>
internal sealed class FakeHttpServer : IDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly ConcurrentDictionary<string, string> _routes = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Func<RecordedRequest, Task<FakeAnswer>>> _handlers = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;

    public FakeHttpServer()
    {
        _listener.Start();
        _loop = Task.Run(AcceptLoopAsync);
    }

    public string Url => $"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}";

    public ConcurrentQueue<RecordedRequest> Requests { get; } = new();

    public FakeHttpServer On(string method, string path, string json)
    {
        _routes[$"{method} {path}"] = json;
        return this;
    }

    /// <summary>Answers "METHOD path" by running <paramref name="answer"/> on the request (e.g. to pass it on).</summary>
    public FakeHttpServer On(string method, string path, Func<RecordedRequest, Task<FakeAnswer>> answer)
    {
        _handlers[$"{method} {path}"] = answer;
        return this;
    }

    public void Dispose()
    {
        _stop.Cancel();
        _listener.Stop();
        try
        {
            _loop.Wait(TimeSpan.FromSeconds(5));
        }
        catch (AggregateException)
        {
        }

        _stop.Dispose();
    }

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync(_stop.Token);
            }
            catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }

            _ = Task.Run(() => HandleAsync(client));
        }
    }

    private async Task HandleAsync(TcpClient client)
    {
        using (client)
        {
            try
            {
                var stream = client.GetStream();
                var buffer = new List<byte>();
                var chunk = new byte[4096];
                int headerEnd;
                while ((headerEnd = IndexOf(buffer, "\r\n\r\n"u8.ToArray())) < 0)
                {
                    var n = await stream.ReadAsync(chunk, _stop.Token);
                    if (n == 0)
                    {
                        return;
                    }

                    buffer.AddRange(chunk.AsSpan(0, n).ToArray());
                }

                var head = Encoding.ASCII.GetString(buffer.GetRange(0, headerEnd).ToArray()).Split("\r\n");
                var parts = head[0].Split(' ');
                var headers = head.Skip(1).Select(h => h.Split(':', 2)).Where(h => h.Length == 2)
                    .ToDictionary(h => h[0].Trim(), h => h[1].Trim(), StringComparer.OrdinalIgnoreCase);
                var length = headers.TryGetValue("Content-Length", out var cl) ? int.Parse(cl, System.Globalization.CultureInfo.InvariantCulture) : 0;
                while (buffer.Count < headerEnd + 4 + length)
                {
                    var n = await stream.ReadAsync(chunk, _stop.Token);
                    if (n == 0)
                    {
                        break;
                    }

                    buffer.AddRange(chunk.AsSpan(0, n).ToArray());
                }

                var body = length > 0 ? Encoding.UTF8.GetString(buffer.GetRange(headerEnd + 4, length).ToArray()) : null;
                var method = parts[0];
                var path = parts[1];
                var recorded = new RecordedRequest(new HttpMethod(method), path, body, headers);
                Requests.Enqueue(recorded);

                var found = _routes.TryGetValue($"{method} {path}", out var json);
                var answer = _handlers.TryGetValue($"{method} {path}", out var handler) ? await handler(recorded)
                    : found ? new FakeAnswer(method == "POST" ? 201 : 200, json!)
                    : new FakeAnswer(404, $$"""{"title":"Not Found","status":404,"code":"not-found","detail":"no fake route for {{method}} {{path}}"}""");
                var payload = Encoding.UTF8.GetBytes(answer.Body);
                var response = Encoding.ASCII.GetBytes(
                    $"HTTP/1.1 {answer.Status} {Reason(answer.Status)}\r\nContent-Type: {answer.ContentType}\r\nContent-Length: {payload.Length}\r\nConnection: close\r\n\r\n");
                await stream.WriteAsync(response, _stop.Token);
                await stream.WriteAsync(payload, _stop.Token);
                await stream.FlushAsync(_stop.Token);
            }
            catch (Exception ex) when (ex is IOException or SocketException or OperationCanceledException)
            {
            }
        }
    }

    private static string Reason(int status) => status switch
    {
        200 => "OK",
        201 => "Created",
        404 => "Not Found",
        _ => ((HttpStatusCode)status).ToString(),
    };

    private static int IndexOf(List<byte> haystack, byte[] needle)
    {
        for (var i = 0; i + needle.Length <= haystack.Count; i++)
        {
            var match = true;
            for (var j = 0; j < needle.Length && match; j++)
            {
                match = haystack[i + j] == needle[j];
            }

            if (match)
            {
                return i;
            }
        }

        return -1;
    }
}

/// <summary>A <see cref="FakeHttpServer"/> handler's answer.</summary>
internal sealed record FakeAnswer(int Status, string Body, string ContentType = "application/json");
