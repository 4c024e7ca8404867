namespace GpuDev.Core.Tests.Scheduling.Reference;

/// <summary>The node profile of <see cref="BackfillPlannerV1"/> (commit 6605e3c, unchanged but for its name). Free GPUs of one node over time, as a step function: segment i covers [Start[i], Start[i+1])
/// with Free[i] GPUs free; the last segment runs forever. Times are Unix milliseconds.</summary>
internal sealed class NodeProfileV1
{
    private readonly List<long> _start;
    private readonly List<int> _free;

    private readonly long[] _firstFree;

    public NodeProfileV1(string name, int capacity, long now, IReadOnlyDictionary<string, string>? labels = null)
    {
        Name = name;
        Labels = labels;
        Capacity = capacity;
        _start = [now];
        _free = [capacity];
        _firstFree = new long[capacity + 1];
        Array.Fill(_firstFree, long.MinValue);
    }

    public string Name { get; }

    public IReadOnlyDictionary<string, string>? Labels { get; }

    public int Capacity { get; }

    /// <summary>Who frees GPUs at a time (for "when X ends").</summary>
    public Dictionary<long, string> EndsAt { get; } = [];

    public int FreeAt(long time)
    {
        var i = Segment(time);
        return _free[i];
    }

    /// <summary>Marks <paramref name="gpus"/> busy during [from, to).</summary>
    public void Reserve(long from, long to, int gpus, string holder)
    {
        if (to <= from || gpus == 0)
        {
            return;
        }

        var first = Split(from);
        var last = Split(to);
        for (var i = first; i < last; i++)
        {
            _free[i] -= gpus;
        }

        EndsAt.TryAdd(to, holder);
        Array.Fill(_firstFree, long.MinValue);
    }

    /// <summary>The first time at which at least <paramref name="gpus"/> GPUs are free (a lower bound for any fit);
    /// -1 when never. Cached until the next <see cref="Reserve"/>.</summary>
    public long FirstFree(int gpus)
    {
        if (gpus > Capacity)
        {
            return -1;
        }

        if (_firstFree[gpus] == long.MinValue)
        {
            _firstFree[gpus] = -1;
            for (var i = 0; i < _start.Count; i++)
            {
                if (_free[i] >= gpus)
                {
                    _firstFree[gpus] = _start[i];
                    break;
                }
            }
        }

        return _firstFree[gpus];
    }

    /// <summary>Earliest start ≥ <paramref name="from"/> and &lt; <paramref name="limit"/> at which
    /// <paramref name="gpus"/> GPUs stay free for <paramref name="duration"/>; -1 when there is none.</summary>
    public long EarliestFit(int gpus, long duration, long from, long limit)
    {
        if (gpus > Capacity)
        {
            return -1;
        }

        var candidate = from;
        var j = Segment(from);
        while (candidate < limit)
        {
            var end = candidate + duration;
            var fits = true;
            for (var m = j; m < _start.Count && _start[m] < end; m++)
            {
                if (_free[m] < gpus)
                {
                    fits = false;
                    if (m + 1 >= _start.Count)
                    {
                        return -1;
                    }

                    candidate = _start[m + 1];
                    j = m + 1;
                    break;
                }
            }

            if (fits)
            {
                return candidate;
            }
        }

        return -1;
    }

    private int Segment(long time)
    {
        var i = _start.BinarySearch(time);
        return i >= 0 ? i : Math.Max(0, ~i - 1);
    }

    /// <summary>Makes a segment boundary at <paramref name="time"/> and returns the index of the segment starting there.</summary>
    private int Split(long time)
    {
        var i = _start.BinarySearch(time);
        if (i >= 0)
        {
            return i;
        }

        var at = ~i;
        _start.Insert(at, time);
        _free.Insert(at, _free[Math.Max(0, at - 1)]);
        return at;
    }
}
