using GpuDev.Core.Reservations;

namespace GpuDev.Core.Tests.Reservations;

public sealed class ReservationStateMachineTests
{
    private static readonly HashSet<(ReservationStatus From, ReservationStatus To)> s_legal =
    [
        (ReservationStatus.Pending, ReservationStatus.Queued),
        (ReservationStatus.Pending, ReservationStatus.Preparing),
        (ReservationStatus.Pending, ReservationStatus.Cancelled),
        (ReservationStatus.Pending, ReservationStatus.Failed),
        (ReservationStatus.Queued, ReservationStatus.Preparing),
        (ReservationStatus.Queued, ReservationStatus.Cancelled),
        (ReservationStatus.Queued, ReservationStatus.Failed),
        (ReservationStatus.Preparing, ReservationStatus.Active),
        (ReservationStatus.Preparing, ReservationStatus.Cancelled),
        (ReservationStatus.Preparing, ReservationStatus.Failed),
        (ReservationStatus.Preparing, ReservationStatus.Expired),
        (ReservationStatus.Active, ReservationStatus.Expired),
        (ReservationStatus.Active, ReservationStatus.Cancelled),
        (ReservationStatus.Active, ReservationStatus.Failed),
    ];

    public static TheoryData<ReservationStatus, ReservationStatus, bool> AllPairs
    {
        get
        {
            var data = new TheoryData<ReservationStatus, ReservationStatus, bool>();
            foreach (var from in Enum.GetValues<ReservationStatus>())
            {
                foreach (var to in Enum.GetValues<ReservationStatus>())
                {
                    data.Add(from, to, s_legal.Contains((from, to)));
                }
            }

            return data;
        }
    }

    public static TheoryData<ReservationStatus, string> WireNames => new()
    {
        { ReservationStatus.Pending, "pending" },
        { ReservationStatus.Queued, "queued" },
        { ReservationStatus.Preparing, "preparing" },
        { ReservationStatus.Active, "active" },
        { ReservationStatus.Expired, "expired" },
        { ReservationStatus.Cancelled, "cancelled" },
        { ReservationStatus.Failed, "failed" },
    };

    [Fact]
    public void ReservationStatus_Always_HasSevenStatuses()
    {
        var statuses = Enum.GetValues<ReservationStatus>();

        Assert.Equal(7, statuses.Length);
    }

    [Theory]
    [MemberData(nameof(AllPairs))]
    public void CanTransition_EachPair_MatchesLegalSet(ReservationStatus from, ReservationStatus to, bool expected)
    {
        var allowed = ReservationStateMachine.CanTransition(from, to);

        Assert.Equal(expected, allowed);
    }

    [Fact]
    public void CanTransition_AllFortyNinePairs_AllowExactlyTheLegalSet()
    {
        var statuses = Enum.GetValues<ReservationStatus>();

        var allowed = statuses
            .SelectMany(from => statuses.Select(to => (From: from, To: to)))
            .Where(p => ReservationStateMachine.CanTransition(p.From, p.To))
            .ToHashSet();

        Assert.Equal(49, statuses.Length * statuses.Length);
        Assert.True(s_legal.SetEquals(allowed),
            $"unexpected: [{string.Join(", ", allowed.Except(s_legal))}], missing: [{string.Join(", ", s_legal.Except(allowed))}]");
    }

    [Theory]
    [InlineData(ReservationStatus.Pending)]
    [InlineData(ReservationStatus.Queued)]
    [InlineData(ReservationStatus.Preparing)]
    [InlineData(ReservationStatus.Active)]
    [InlineData(ReservationStatus.Expired)]
    [InlineData(ReservationStatus.Cancelled)]
    [InlineData(ReservationStatus.Failed)]
    public void CanTransition_ToItself_IsRefused(ReservationStatus status)
    {
        var allowed = ReservationStateMachine.CanTransition(status, status);

        Assert.False(allowed);
    }

    [Fact]
    public void CanTransition_UndefinedStatus_IsRefused()
    {
        var undefined = (ReservationStatus)99;

        var from = ReservationStateMachine.CanTransition(undefined, ReservationStatus.Active);
        var to = ReservationStateMachine.CanTransition(ReservationStatus.Pending, undefined);

        Assert.False(from);
        Assert.False(to);
    }

    [Theory]
    [InlineData(ReservationStatus.Pending, false)]
    [InlineData(ReservationStatus.Queued, false)]
    [InlineData(ReservationStatus.Preparing, false)]
    [InlineData(ReservationStatus.Active, false)]
    [InlineData(ReservationStatus.Expired, true)]
    [InlineData(ReservationStatus.Cancelled, true)]
    [InlineData(ReservationStatus.Failed, true)]
    public void IsTerminal_EachStatus_IsTrueOnlyForEndStates(ReservationStatus status, bool expected)
    {
        var terminal = status.IsTerminal();
        var live = status.IsLive();

        Assert.Equal(expected, terminal);
        Assert.Equal(!expected, live);
    }

    [Theory]
    [InlineData(ReservationStatus.Expired)]
    [InlineData(ReservationStatus.Cancelled)]
    [InlineData(ReservationStatus.Failed)]
    public void CanTransition_FromTerminal_RefusesEveryTarget(ReservationStatus terminal)
    {
        var statuses = Enum.GetValues<ReservationStatus>();

        var targets = statuses.Where(to => ReservationStateMachine.CanTransition(terminal, to));

        Assert.Empty(targets);
    }

    [Theory]
    [MemberData(nameof(WireNames))]
    public void ToWire_EachStatus_IsLowerCaseName(ReservationStatus status, string expected)
    {
        var wire = status.ToWire();

        Assert.Equal(expected, wire);
    }

    [Theory]
    [MemberData(nameof(WireNames))]
    public void TryParseWire_WireName_RoundTrips(ReservationStatus status, string wire)
    {
        var ok = ReservationStateMachine.TryParseWire(status.ToWire(), out var parsed);
        var okUpper = ReservationStateMachine.TryParseWire(wire.ToUpperInvariant(), out var parsedUpper);

        Assert.True(ok);
        Assert.Equal(status, parsed);
        Assert.True(okUpper);
        Assert.Equal(status, parsedUpper);
    }

    [Theory]
    [InlineData("Active", ReservationStatus.Active)]
    [InlineData("CANCELLED", ReservationStatus.Cancelled)]
    [InlineData("pReParInG", ReservationStatus.Preparing)]
    public void TryParseWire_MixedCase_Parses(string value, ReservationStatus expected)
    {
        var ok = ReservationStateMachine.TryParseWire(value, out var parsed);

        Assert.True(ok);
        Assert.Equal(expected, parsed);
    }

    [Theory]
    [InlineData("running")]
    [InlineData("")]
    [InlineData(" active")]
    [InlineData("active ")]
    [InlineData("canceled")]
    [InlineData("0")]
    [InlineData("3")]
    [InlineData("Pending,Active")]
    [InlineData(null)]
    public void TryParseWire_UnknownValue_IsRefused(string? value)
    {
        var ok = ReservationStateMachine.TryParseWire(value, out _);

        Assert.False(ok);
    }

    [Fact]
    public void WireNames_Always_ListsEveryStatusOnce()
    {
        var names = ReservationStateMachine.WireNames.ToList();

        Assert.Equal(["pending", "queued", "preparing", "active", "expired", "cancelled", "failed"], names);
    }

    [Fact]
    public void ToWire_UndefinedStatus_Throws()
    {
        var undefined = (ReservationStatus)99;

        var act = () => undefined.ToWire();

        Assert.Throws<ArgumentOutOfRangeException>(act);
    }
}
