namespace GpuDev.Core.Scheduling;

/// <summary>Free GPUs of one node over time, as a step function: segment i covers [Start[i], Start[i+1])
/// with Free[i] GPUs free; the last segment runs forever. Times are Unix milliseconds.</summary>
internal sealed class NodeProfile
{
    private readonly List<long> _start;
    private readonly List<int> _free;

    public NodeProfile(string name, int capacity, long now, IReadOnlyDictionary<string, string>? labels = null)
    {
        Name = name;
        Labels = labels;
        Capacity = capacity;
        _start = [now];
        _free = [capacity];
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
    }

    /// <summary>Gives back what <see cref="Reserve"/> took for [from, to) (a promised slot the request is booked anew in).</summary>
    public void Release(long from, long to, int gpus, string holder)
    {
        Reserve(from, to, -gpus, holder);
        if (EndsAt.TryGetValue(to, out var who) && who == holder)
        {
            EndsAt.Remove(to);
        }
    }

    /// <summary>The fewest GPUs free at any time in [from, to).</summary>
    public int MinFree(long from, long to)
    {
        var min = int.MaxValue;
        for (var i = Segment(from); i < _start.Count && _start[i] < to; i++)
        {
            min = Math.Min(min, _free[i]);
        }

        return min;
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

    /// <summary>For each length in <paramref name="minLengths"/> (ascending), the earliest start at which
    /// <paramref name="gpus"/> GPUs stay free at least that long (what <see cref="EarliestFit"/> from the profile's
    /// start answers) and the GPUs free at that start; <see cref="long.MaxValue"/> when never. One walk over the
    /// segments answers them all: the fits are the starts of the runs of segments with enough GPUs free, and the
    /// first run at least as long as a length is its answer.</summary>
    public void EarliestRuns(int gpus, ReadOnlySpan<long> minLengths, Span<long> starts, Span<int> frees)
    {
        var next = 0;
        var i = 0;
        while (next < minLengths.Length && gpus <= Capacity && i < _start.Count)
        {
            if (_free[i] < gpus)
            {
                i++;
                continue;
            }

            var runStart = _start[i];
            var runFree = _free[i];
            while (i < _start.Count && _free[i] >= gpus)
            {
                i++;
            }

            var length = i < _start.Count ? _start[i] - runStart : long.MaxValue;
            for (; next < minLengths.Length && minLengths[next] <= length; next++)
            {
                (starts[next], frees[next]) = (runStart, runFree);
            }
        }

        for (; next < minLengths.Length; next++)
        {
            (starts[next], frees[next]) = (long.MaxValue, int.MaxValue);
        }
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
