namespace GpuDev.Core.Scheduling;

/// <summary>Finds where a request can start earliest among the nodes of one GPU type without trying every node, so that
/// a planning pass costs about requests × (log of nodes + the few nodes that come close) rather than requests × nodes.
/// Every booking goes through <see cref="Reserve"/>, which keeps the index current.
/// <para>For each GPU count g and duration class D (a power of two in milliseconds) that a request has asked about, a
/// tournament tree over the nodes (leaves in <c>profiles</c> order, i.e. by name) holds each node's <em>key</em>: the
/// earliest start at which g GPUs stay free for D, and the GPUs free then. A request of duration d uses the largest
/// D ≤ d, so a node's key is a lower bound of where that request can start on it (a window free for d is free for D),
/// and if it starts exactly there, the GPUs free at its start are the key's. Ordered by (key, GPUs free then,
/// position), the keys are therefore lower bounds of what a single-node request compares: (start, GPUs free at the
/// start, position). A search visits the subtrees whose best key is below the best node found so far, best first,
/// computes each visited node's exact start, and skips the rest: it finds exactly the node that a scan of every node
/// in name order with the same rule finds (<see cref="FindSingle"/>; <see cref="FindWhole"/> alike with (start,
/// position)). The index changes how many nodes are tried, never the answer.</para>
/// <para>A booking on [from, to) changes a key k of class D only when it overlaps [k, k + D) (earlier free runs only get
/// shorter, and the GPUs free at k change only when k is in [from, to)); then one walk over that node's segments
/// recomputes all its keys of that GPU count (<see cref="NodeProfile.EarliestRuns"/>).</para></summary>
internal sealed class StartIndex
{
    private readonly List<NodeProfile> _profiles;
    private readonly int _leaves;

    /// <summary>The trees by GPU count, each group's classes in ascending order.</summary>
    private readonly Dictionary<int, Group> _groups = [];

    private readonly List<Group> _groupList = [];

    /// <summary>Nodes per capacity, for the whole-node count of unlabelled multinode requests.</summary>
    private readonly Dictionary<int, int> _capacityCounts = [];

    private readonly List<(long Start, int Node)> _top = [];

    private long[] _scratchStarts = new long[8];
    private int[] _scratchFrees = new int[8];

    private PlanRequest _request = null!;
    private Entry[] _tree = [];
    private int _gpus;
    private long _duration;

    private Entry _best;

    private long _from;
    private int _wanted;

    public StartIndex(List<NodeProfile> profiles)
    {
        _profiles = profiles;
        _leaves = 1;
        while (_leaves < profiles.Count)
        {
            _leaves *= 2;
        }

        foreach (var profile in profiles)
        {
            _capacityCounts[profile.Capacity] = _capacityCounts.GetValueOrDefault(profile.Capacity) + 1;
        }
    }

    /// <summary>Books <paramref name="gpus"/> GPUs of node <paramref name="node"/> (its position in the profiles) for
    /// [from, to) and updates the node's keys that the booking moves.</summary>
    public void Reserve(int node, long from, long to, int gpus, string holder)
    {
        _profiles[node].Reserve(from, to, gpus, holder);
        Update(node, from, to, released: false);
    }

    /// <summary>Gives back a <see cref="Reserve"/> of node <paramref name="node"/>: more GPUs free can move any of its keys
    /// earlier, so all of them are recomputed.</summary>
    public void Release(int node, long from, long to, int gpus, string holder)
    {
        _profiles[node].Release(from, to, gpus, holder);
        Update(node, from, to, released: true);
    }

    private void Update(int node, long from, long to, bool released)
    {
        var profile = _profiles[node];
        foreach (var group in _groupList)
        {
            var keys = group.Keys.AsSpan(node * group.Stride, group.Trees.Count);
            var touched = released;
            for (var c = 0; c < keys.Length && !touched; c++)
            {
                touched = keys[c] != long.MaxValue && keys[c] < to && keys[c] + group.MinLengths[c] > from;
            }

            if (!touched)
            {
                continue;
            }

            var starts = _scratchStarts.AsSpan(0, keys.Length);
            var frees = _scratchFrees.AsSpan(0, keys.Length);
            profile.EarliestRuns(group.Gpus, group.MinLengths.AsSpan(0, keys.Length), starts, frees);
            for (var c = 0; c < keys.Length; c++)
            {
                var tree = group.Trees[c];
                ref var leaf = ref tree[_leaves + node];
                if (leaf.Key != starts[c] || leaf.Free != frees[c])
                {
                    keys[c] = starts[c];
                    Set(tree, _leaves + node, new Entry(starts[c], frees[c], node));
                }
            }
        }
    }

    /// <summary>The node where a single-node request of <paramref name="gpus"/> GPUs for <paramref name="duration"/>
    /// starts earliest, ties broken by the fewest GPUs free at that start, then by position (name): exactly the node a
    /// scan of all nodes in name order with those rules picks. -1 when no node it may use has that many GPUs.</summary>
    public int FindSingle(PlanRequest request, int gpus, long duration, out long start)
    {
        (_request, _gpus, _duration, _tree) = (request, gpus, duration, TreeFor(gpus, duration));
        _best = Entry.None;
        SearchSingle(1);
        start = _best.Key;
        return _best.Node == int.MaxValue ? -1 : _best.Node;
    }

    /// <summary>The <paramref name="count"/> whole nodes (capacity = <paramref name="gpus"/>) that the request may use
    /// with the earliest starts at or after <paramref name="from"/> for <paramref name="duration"/>, ordered by start,
    /// then position (name); fewer when fewer such nodes exist. The list is reused by the next call.</summary>
    public IReadOnlyList<(long Start, int Node)> FindWhole(PlanRequest request, int gpus, long duration, long from, int count)
    {
        (_request, _gpus, _duration, _tree) = (request, gpus, duration, TreeFor(gpus, duration));
        (_from, _wanted) = (from, count);
        _top.Clear();
        SearchWhole(1);
        return _top;
    }

    /// <summary>How many nodes have exactly <paramref name="capacity"/> GPUs and carry the request's labels.</summary>
    public int WholeNodes(PlanRequest request, int capacity)
    {
        if (request.NodeLabels is not { Count: > 0 })
        {
            return _capacityCounts.GetValueOrDefault(capacity);
        }

        var count = 0;
        foreach (var profile in _profiles)
        {
            if (profile.Capacity == capacity && request.Allows(profile))
            {
                count++;
            }
        }

        return count;
    }

    /// <summary>Visits the subtree of <paramref name="v"/> unless its best key cannot beat the best node found: a node's
    /// (start, free, position) is at least its (key, free at key, position).</summary>
    private void SearchSingle(int v)
    {
        var tree = _tree;
        if (tree[v].Key == long.MaxValue || !tree[v].Precedes(_best))
        {
            return;
        }

        if (v >= _leaves)
        {
            TrySingle(tree[v]);
            return;
        }

        var (first, second) = tree[(2 * v) + 1].Precedes(tree[2 * v]) ? ((2 * v) + 1, 2 * v) : (2 * v, (2 * v) + 1);
        SearchSingle(first);
        SearchSingle(second);
    }

    private void TrySingle(Entry key)
    {
        var profile = _profiles[key.Node];
        if (!_request.Allows(profile))
        {
            return;
        }

        var start = profile.EarliestFit(_gpus, _duration, key.Key, _best.Key == long.MaxValue ? long.MaxValue : _best.Key + 1);
        if (start < 0)
        {
            return;
        }

        var found = new Entry(start, start == key.Key ? key.Free : profile.FreeAt(start), key.Node);
        if (found.Precedes(_best))
        {
            _best = found;
        }
    }

    private void SearchWhole(int v)
    {
        var tree = _tree;
        if (tree[v].Key == long.MaxValue || (_top.Count == _wanted && Math.Max(tree[v].Key, _from) > _top[^1].Start))
        {
            return;
        }

        if (v >= _leaves)
        {
            TryWhole(tree[v]);
            return;
        }

        var (first, second) = tree[(2 * v) + 1].Precedes(tree[2 * v]) ? ((2 * v) + 1, 2 * v) : (2 * v, (2 * v) + 1);
        SearchWhole(first);
        SearchWhole(second);
    }

    private void TryWhole(Entry key)
    {
        var node = key.Node;
        var profile = _profiles[node];
        if (profile.Capacity != _gpus || !_request.Allows(profile))
        {
            return;
        }

        var full = _top.Count == _wanted;
        var start = profile.EarliestFit(_gpus, _duration, Math.Max(key.Key, _from), full ? _top[^1].Start + 1 : long.MaxValue);
        if (start < 0 || (full && (start, node).CompareTo(_top[^1]) > 0))
        {
            return;
        }

        if (full)
        {
            _top.RemoveAt(_top.Count - 1);
        }

        var at = _top.Count;
        while (at > 0 && (start, node).CompareTo(_top[at - 1]) < 0)
        {
            at--;
        }

        _top.Insert(at, (start, node));
    }

    /// <summary>The tree for g GPUs and the duration class of <paramref name="duration"/>, built on first use from the
    /// profiles as they are then. <para>Classes are powers of two: finer ones give tighter bounds (fewer nodes tried) but
    /// more trees to keep current on each booking. On the benchmark's 2,000-node fleet (bench/README.md), ratios of
    /// 2^(1/4), √2, 2 and 4 between classes built 92, 52, 28 and 16 trees, and 2 was the fastest of √2, 2 and 2√2.</para></summary>
    private Entry[] TreeFor(int gpus, long duration)
    {
        var minLength = 1L << Math.Min(62, 63 - (int)long.LeadingZeroCount(duration));
        if (!_groups.TryGetValue(gpus, out var group))
        {
            _groups[gpus] = group = new Group(gpus);
            _groupList.Add(group);
        }

        var c = Array.BinarySearch(group.MinLengths, 0, group.Trees.Count, minLength);
        if (c >= 0)
        {
            return group.Trees[c];
        }

        c = ~c;
        var tree = new Entry[2 * _leaves];
        Array.Fill(tree, Entry.None);
        Span<long> lengths = [minLength];
        Span<long> start = [0];
        Span<int> free = [0];
        for (var i = 0; i < _profiles.Count; i++)
        {
            _profiles[i].EarliestRuns(gpus, lengths, start, free);
            tree[_leaves + i] = new Entry(start[0], free[0], i);
        }

        for (var v = _leaves - 1; v >= 1; v--)
        {
            tree[v] = tree[(2 * v) + 1].Precedes(tree[2 * v]) ? tree[(2 * v) + 1] : tree[2 * v];
        }

        group.Insert(c, minLength, tree, _leaves, _profiles.Count);
        if (_scratchStarts.Length < group.Trees.Count)
        {
            _scratchStarts = new long[2 * group.Trees.Count];
            _scratchFrees = new int[2 * group.Trees.Count];
        }

        return tree;
    }

    /// <summary>Sets leaf <paramref name="v"/> and replays the matches above it, up to the first vertex whose winner
    /// stays the same (nothing above it changes either).</summary>
    private static void Set(Entry[] tree, int v, Entry leaf)
    {
        tree[v] = leaf;
        for (v >>= 1; v >= 1; v >>= 1)
        {
            var winner = tree[(2 * v) + 1].Precedes(tree[2 * v]) ? tree[(2 * v) + 1] : tree[2 * v];
            if (winner == tree[v])
            {
                break;
            }

            tree[v] = winner;
        }
    }

    /// <summary>A node's key in one tree (or, in <see cref="_best"/>, the best exact start found), ordered by start,
    /// then GPUs free at that start, then position. <see cref="None"/>: no node, or never.</summary>
    private readonly record struct Entry(long Key, int Free, int Node)
    {
        public static readonly Entry None = new(long.MaxValue, int.MaxValue, int.MaxValue);

        public bool Precedes(Entry other) =>
            Key != other.Key ? Key < other.Key : Free != other.Free ? Free < other.Free : Node < other.Node;
    }

    /// <summary>The trees of one GPU count, by class, and a copy of their leaves' keys node by node
    /// (<c>Keys[node * Stride + c]</c>): a booking checks all of one node's keys, which are contiguous here and scattered
    /// over the trees there.</summary>
    private sealed class Group(int gpus)
    {
        public int Gpus { get; } = gpus;

        public List<Entry[]> Trees { get; } = [];

        public long[] MinLengths { get; private set; } = new long[4];

        public long[] Keys { get; private set; } = [];

        public int Stride { get; private set; }

        public void Insert(int c, long minLength, Entry[] tree, int leaves, int nodes)
        {
            Trees.Insert(c, tree);
            var count = Trees.Count;
            if (MinLengths.Length < count)
            {
                var lengths = MinLengths;
                Array.Resize(ref lengths, 2 * count);
                MinLengths = lengths;
            }

            Array.Copy(MinLengths, c, MinLengths, c + 1, count - 1 - c);
            MinLengths[c] = minLength;

            var stride = count <= Stride ? Stride : Math.Max(4, 2 * Stride);
            var keys = new long[nodes * stride];
            for (var i = 0; i < nodes; i++)
            {
                for (var k = 0; k < count; k++)
                {
                    keys[(i * stride) + k] = Trees[k][leaves + i].Key;
                }
            }

            (Keys, Stride) = (keys, stride);
        }
    }
}
