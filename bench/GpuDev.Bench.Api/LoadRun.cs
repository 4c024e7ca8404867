using System.Diagnostics;
using System.Net.Http.Headers;

namespace GpuDev.Bench.Api;

/// <summary>Open-loop load at a fixed rate: request i is due at start + i / rate and is sent then, whether or not
/// earlier requests have answered (no coordinated omission). Its latency runs from that due time to the last byte of
/// the response, so time spent queued behind a slow server (or in the client's connection pool) counts.</summary>
internal sealed class LoadRun(LoadOptions options) : IDisposable
{
    private readonly HttpClient _client = CreateClient(options);

    public sealed record Result(int Requests, int Errors, long[] LatencyTicks, TimeSpan Elapsed, string? FirstError);

    public async Task<Result> RunAsync(TimeSpan duration, CancellationToken cancellationToken)
    {
        var total = (int)(options.Rate * duration.TotalSeconds);
        var latencies = new long[total];
        var failed = new bool[total];
        string? firstError = null;
        var tasks = new Task[total];
        var start = Stopwatch.GetTimestamp();
        var ticksPerRequest = (double)Stopwatch.Frequency / options.Rate;
        for (var i = 0; i < total; i++)
        {
            var due = start + (long)(i * ticksPerRequest);
            while (Stopwatch.GetTimestamp() is var now && now < due)
            {
                if (due - now > Stopwatch.Frequency / 1000)
                {
                    Thread.Sleep(1);
                }
                else
                {
                    Thread.SpinWait(20);
                }
            }

            tasks[i] = SendAsync(i, due);
        }

        await Task.WhenAll(tasks);
        return new Result(total, failed.Count(f => f), latencies, Stopwatch.GetElapsedTime(start), firstError);

        async Task SendAsync(int i, long due)
        {
            try
            {
                using var response = await _client.GetAsync(options.Paths[i % options.Paths.Count], HttpCompletionOption.ResponseContentRead, cancellationToken);
                if (!response.IsSuccessStatusCode)
                {
                    failed[i] = true;
                    Interlocked.CompareExchange(ref firstError, $"{(int)response.StatusCode} on {options.Paths[i % options.Paths.Count]}", null);
                }
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                failed[i] = true;
                Interlocked.CompareExchange(ref firstError, e.Message, null);
            }

            latencies[i] = Stopwatch.GetTimestamp() - due;
        }
    }

    private static HttpClient CreateClient(LoadOptions options)
    {
        var handler = new SocketsHttpHandler
        {
            MaxConnectionsPerServer = options.Connections,
            PooledConnectionLifetime = Timeout.InfiniteTimeSpan,
            UseProxy = false,
            UseCookies = false,
        };
        var client = new HttpClient(handler) { BaseAddress = options.Url, Timeout = options.Timeout };
        if (options.Token is { } token)
        {
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        return client;
    }

    public void Dispose() => _client.Dispose();
}
