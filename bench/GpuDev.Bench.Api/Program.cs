using System.Diagnostics;
using System.Globalization;
using GpuDev.Bench.Api;

LoadOptions options;
try
{
    options = LoadOptions.Parse(args);
}
catch (Exception e) when (e is ArgumentException or FormatException or IOException)
{
    Console.Error.WriteLine($"error: {e.Message}");
    Console.Error.WriteLine(LoadOptions.Usage);
    return 1;
}

using var run = new LoadRun(options);
if (options.Warmup > TimeSpan.Zero)
{
    await run.RunAsync(options.Warmup, CancellationToken.None);
}

var cpuBefore = ProcessCpu.Read(options.ServerPid);
var result = await run.RunAsync(options.Duration, CancellationToken.None);
var cpuAfter = ProcessCpu.Read(options.ServerPid);
var cpuPerRequest = cpuBefore is { } before && cpuAfter is { } after
    ? ((after - before).TotalMilliseconds / result.Requests).ToString("0.000", CultureInfo.InvariantCulture)
    : "–";
var sorted = result.LatencyTicks.Order().ToArray();
string Ms(double quantile)
{
    var index = Math.Clamp((int)Math.Ceiling(quantile * sorted.Length) - 1, 0, sorted.Length - 1);
    return (sorted[index] * 1000.0 / Stopwatch.Frequency).ToString("0.00", CultureInfo.InvariantCulture);
}

if (options.Header)
{
    Console.WriteLine("| endpoint | rate (req/s) | requests | achieved (req/s) | errors | server CPU / request (ms) | p50 (ms) | p90 (ms) | p99 (ms) | p99.9 (ms) | max (ms) |");
    Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
}

Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
    $"| {options.Name} | {options.Rate} | {result.Requests} | {result.Requests / result.Elapsed.TotalSeconds:0} | {result.Errors} | {cpuPerRequest} | {Ms(0.50)} | {Ms(0.90)} | {Ms(0.99)} | {Ms(0.999)} | {Ms(1.0)} |"));
if (result.FirstError is { } error)
{
    Console.Error.WriteLine($"first error ({options.Name}): {error}");
}

return 0;
