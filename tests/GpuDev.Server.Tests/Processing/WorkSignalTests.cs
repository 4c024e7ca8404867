using GpuDev.Server.Processing;
using Microsoft.Extensions.Time.Testing;

namespace GpuDev.Server.Tests.Processing;

public sealed class WorkSignalTests
{
    [Fact]
    public async Task WaitAsync_NotifiedBeforeWaiting_ReturnsAtOnce()
    {
        var signal = new WorkSignal();
        var time = new FakeTimeProvider();

        signal.Notify();
        var wait = signal.WaitAsync(TimeSpan.FromHours(1), time, TestContext.Current.CancellationToken);

        Assert.True(await Task.WhenAny(wait, Task.Delay(5000, TestContext.Current.CancellationToken)) == wait);
    }

    [Fact]
    public async Task WaitAsync_NotifiedWhileWaiting_Returns()
    {
        var signal = new WorkSignal();
        var wait = signal.WaitAsync(TimeSpan.FromHours(1), new FakeTimeProvider(), TestContext.Current.CancellationToken);

        signal.Notify();

        Assert.True(await Task.WhenAny(wait, Task.Delay(5000, TestContext.Current.CancellationToken)) == wait);
    }

    [Fact]
    public async Task WaitAsync_NoNotify_WaitsForTimeout()
    {
        var signal = new WorkSignal();
        var time = new FakeTimeProvider();
        var wait = signal.WaitAsync(TimeSpan.FromSeconds(10), time, TestContext.Current.CancellationToken);

        await Task.Delay(100, TestContext.Current.CancellationToken);
        Assert.False(wait.IsCompleted);
        time.Advance(TimeSpan.FromSeconds(10));

        await wait.WaitAsync(TimeSpan.FromSeconds(5), TestContext.Current.CancellationToken);
    }
}
