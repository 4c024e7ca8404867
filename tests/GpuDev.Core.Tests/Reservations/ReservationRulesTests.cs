using GpuDev.Core.Catalog;
using GpuDev.Core.Reservations;

namespace GpuDev.Core.Tests.Reservations;

public sealed class ReservationRulesTests
{
    private const string AllowedCountsText = "1, 2, 4, 8, 12, 16, 20, 24, 32, 40, 48";
    private const string ValidTypesText = "b200, h200, h100, a100, a10g, t4, l4, t4-small, cpu-arm, cpu-x86";

    private static readonly ReservationRequest s_valid = new() { GpuType = "h100", GpuCount = 1, Hours = 1 };

    private static IReadOnlyList<RuleViolation> Validate(ReservationRequest request) =>
        ReservationRules.Validate(request, GpuCatalog.Default);

    private static GpuType Type(string name) => GpuCatalog.Default.Find(name)!;

    private static RuleViolation Single(IReadOnlyList<RuleViolation> errors, string code)
    {
        Assert.True(errors.Count == 1, $"expected exactly one violation '{code}', got: {Describe(errors)}");
        Assert.Equal(code, errors[0].Code);
        return errors[0];
    }

    private static string Describe(IReadOnlyList<RuleViolation> errors) =>
        errors.Count == 0 ? "(none)" : string.Join("; ", errors.Select(e => $"{e.Code}: {e.Message}"));

    private static void AssertValid(IReadOnlyList<RuleViolation> errors) =>
        Assert.True(errors.Count == 0, $"expected no violations, got: {Describe(errors)}");

    // ---- GPU count -------------------------------------------------------------------------

    [Fact]
    public void AllowedGpuCounts_Always_AreTheSeedsCounts()
    {
        var text = ReservationRules.AllowedGpuCountsText;

        Assert.Equal([1, 2, 4, 8, 12, 16, 20, 24, 32, 40, 48], ReservationRules.AllowedGpuCounts);
        Assert.Equal(AllowedCountsText, text);
    }

    [Fact]
    public void Validate_BaselineRequest_IsValid()
    {
        var request = s_valid;

        var errors = Validate(request);

        AssertValid(errors);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(4)]
    [InlineData(8)]
    [InlineData(16)]
    [InlineData(24)]
    [InlineData(32)]
    [InlineData(40)]
    [InlineData(48)]
    public void Validate_H100AllowedCountWithDistributed_IsValid(int count)
    {
        var request = s_valid with { GpuCount = count, Distributed = true };

        var errors = Validate(request);

        AssertValid(errors);
    }

    [Theory]
    [InlineData(12)]
    [InlineData(20)]
    public void Validate_H100AllowedCountNotMultipleOfEight_ReportsMultinodeNotMultiple(int count)
    {
        var request = s_valid with { GpuCount = count, Distributed = true };

        var errors = Validate(request);

        var error = Single(errors, "multinode-not-multiple");
        Assert.Contains("8", error.Message, StringComparison.Ordinal);
        Assert.Contains(count.ToString(System.Globalization.CultureInfo.InvariantCulture), error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(4)]
    [InlineData(8)]
    [InlineData(12)]
    [InlineData(16)]
    [InlineData(20)]
    [InlineData(24)]
    [InlineData(32)]
    [InlineData(40)]
    [InlineData(48)]
    public void Validate_EveryAllowedCount_NeverReportsInvalidGpuCount(int count)
    {
        var request = s_valid with { GpuCount = count, Distributed = true };

        var errors = Validate(request);

        Assert.DoesNotContain(errors, e => e.Code == "invalid-gpu-count");
    }

    [Theory]
    [InlineData(0)]
    [InlineData(3)]
    [InlineData(5)]
    [InlineData(7)]
    [InlineData(9)]
    [InlineData(64)]
    [InlineData(-1)]
    [InlineData(int.MaxValue)]
    [InlineData(int.MinValue)]
    public void Validate_H100DisallowedCount_ReportsInvalidGpuCountNamingAllowedCounts(int count)
    {
        var request = s_valid with { GpuCount = count, Distributed = true };

        var errors = Validate(request);

        var error = Single(errors, "invalid-gpu-count");
        Assert.Equal("gpuCount", error.Field);
        Assert.Contains(AllowedCountsText, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_SixteenH100WithoutDistributed_ReportsDistributedRequired()
    {
        var request = s_valid with { GpuCount = 16, Distributed = false };

        var errors = Validate(request);

        var error = Single(errors, "distributed-required");
        Assert.Contains("--distributed", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_SixteenH100WithDistributed_IsValid()
    {
        var request = s_valid with { GpuCount = 16, Distributed = true };

        var errors = Validate(request);

        AssertValid(errors);
    }

    [Fact]
    public void Validate_EightH100WithoutDistributed_IsValid()
    {
        var request = s_valid with { GpuCount = 8, Distributed = false };

        var errors = Validate(request);

        AssertValid(errors);
    }

    [Fact]
    public void Validate_TwelveH100WithoutDistributed_ReportsMultinodeNotMultiple()
    {
        var request = s_valid with { GpuCount = 12 };

        var errors = Validate(request);

        Single(errors, "multinode-not-multiple");
    }

    [Fact]
    public void Validate_TwelveT4WithDistributed_IsValid()
    {
        var request = s_valid with { GpuType = "t4", GpuCount = 12, Distributed = true };

        var errors = Validate(request);

        AssertValid(errors);
    }

    [Fact]
    public void Validate_EightT4WithoutDistributed_ReportsDistributedRequired()
    {
        var request = s_valid with { GpuType = "t4", GpuCount = 8 };

        var errors = Validate(request);

        Single(errors, "distributed-required");
    }

    [Fact]
    public void Validate_TwoT4SmallWithDistributed_IsValid()
    {
        var request = s_valid with { GpuType = "t4-small", GpuCount = 2, Distributed = true };

        var errors = Validate(request);

        AssertValid(errors);
    }

    [Theory]
    [InlineData("cpu-x86")]
    [InlineData("cpu-arm")]
    public void Validate_CpuTypeWithNullCount_IsValidWithZeroGpus(string typeName)
    {
        var request = s_valid with { GpuType = typeName, GpuCount = null };

        var errors = Validate(request);
        var count = ReservationRules.EffectiveGpuCount(request, Type(typeName));

        AssertValid(errors);
        Assert.Equal(0, count);
    }

    [Fact]
    public void Validate_CpuTypeWithExplicitZero_IsValid()
    {
        var request = s_valid with { GpuType = "cpu-x86", GpuCount = 0 };

        var errors = Validate(request);

        AssertValid(errors);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(8)]
    [InlineData(-1)]
    public void Validate_CpuTypeWithGpus_ReportsGpuCountForCpuType(int count)
    {
        var request = s_valid with { GpuType = "cpu-x86", GpuCount = count };

        var errors = Validate(request);

        var error = Single(errors, "gpu-count-for-cpu-type");
        Assert.Contains("0", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("h100")]
    [InlineData("t4-small")]
    [InlineData("b200")]
    public void EffectiveGpuCount_GpuTypeWithNullCount_IsOne(string typeName)
    {
        var request = s_valid with { GpuType = typeName, GpuCount = null };

        var count = ReservationRules.EffectiveGpuCount(request, Type(typeName));
        var errors = Validate(request);

        Assert.Equal(1, count);
        AssertValid(errors);
    }

    [Fact]
    public void EffectiveGpuCount_ExplicitCount_IsThatCount()
    {
        var request = s_valid with { GpuCount = 4 };

        var count = ReservationRules.EffectiveGpuCount(request, Type("h100"));

        Assert.Equal(4, count);
    }

    [Theory]
    [InlineData("h100", 1, 1)]
    [InlineData("h100", 8, 1)]
    [InlineData("h100", 16, 2)]
    [InlineData("h100", 24, 3)]
    [InlineData("h100", 48, 6)]
    [InlineData("t4", 4, 1)]
    [InlineData("t4", 12, 3)]
    [InlineData("t4-small", 1, 1)]
    [InlineData("t4-small", 2, 2)]
    [InlineData("cpu-x86", 0, 1)]
    public void NodeCount_ValidCount_IsCountOverGpusPerNode(string typeName, int gpus, int expectedNodes)
    {
        var type = Type(typeName);

        var nodes = ReservationRules.NodeCount(gpus, type);

        Assert.Equal(expectedNodes, nodes);
    }

    // ---- GPU type --------------------------------------------------------------------------

    [Theory]
    [InlineData("v100")]
    [InlineData("")]
    [InlineData(null)]
    public void Validate_UnknownGpuType_ReportsUnknownGpuTypeListingValidTypes(string? typeName)
    {
        var request = s_valid with { GpuType = typeName };

        var errors = Validate(request);

        var error = Single(errors, "unknown-gpu-type");
        Assert.Equal("gpuType", error.Field);
        Assert.Contains(ValidTypesText, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_GpuTypeInUpperCase_IsValid()
    {
        var request = s_valid with { GpuType = "H100" };

        var errors = Validate(request);

        AssertValid(errors);
    }

    // ---- Hours -----------------------------------------------------------------------------

    [Theory]
    [InlineData(0.0833)]
    [InlineData(0.5)]
    [InlineData(1)]
    [InlineData(12.75)]
    [InlineData(24)]
    public void Validate_HoursInRange_IsValid(double hours)
    {
        var request = s_valid with { Hours = hours };

        var errors = Validate(request);

        AssertValid(errors);
    }

    [Theory]
    [InlineData(0.08)]
    [InlineData(0)]
    [InlineData(-1)]
    [InlineData(24.01)]
    [InlineData(30)]
    [InlineData(double.NaN)]
    [InlineData(double.PositiveInfinity)]
    [InlineData(double.NegativeInfinity)]
    public void Validate_HoursOutOfRange_ReportsInvalidHoursNamingRange(double hours)
    {
        var request = s_valid with { Hours = hours };

        var errors = Validate(request);

        var error = Single(errors, "invalid-hours");
        Assert.Equal("hours", error.Field);
        Assert.Contains("0.0833", error.Message, StringComparison.Ordinal);
        Assert.Contains("24", error.Message, StringComparison.Ordinal);
    }

    // ---- Name ------------------------------------------------------------------------------

    public static TheoryData<string> ValidNames => new()
    {
        "my-run_1.a",
        "a",
        "A1",
        "0start",
        new string('a', 63),
    };

    public static TheoryData<string> InvalidNames => new()
    {
        "",
        " ",
        "a;rm -rf /",
        "../../etc",
        new string('a', 64),
        "-leading",
        ".hidden",
        "_under",
        "has space",
        "a/b",
        "line\nbreak",
        "trailing-newline\n",
        "\nleading-newline",
        "tab\there",
        "$(id)",
        "é",
    };

    [Theory]
    [MemberData(nameof(ValidNames))]
    public void IsValidName_ValidName_ReturnsTrue(string name)
    {
        var valid = ReservationRules.IsValidName(name);

        Assert.True(valid);
    }

    [Theory]
    [MemberData(nameof(InvalidNames))]
    public void IsValidName_InvalidName_ReturnsFalse(string name)
    {
        var valid = ReservationRules.IsValidName(name);

        Assert.False(valid);
    }

    [Theory]
    [MemberData(nameof(InvalidNames))]
    public void Validate_InvalidName_ReportsInvalidName(string name)
    {
        var request = s_valid with { Name = name };

        var errors = Validate(request);

        var error = Single(errors, "invalid-name");
        Assert.Equal("name", error.Field);
        Assert.Contains("63", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_NullName_IsValid()
    {
        var request = s_valid with { Name = null };

        var errors = Validate(request);

        AssertValid(errors);
    }

    // ---- Disk ------------------------------------------------------------------------------

    [Theory]
    [InlineData("pytorch-dev")]
    [InlineData("llm_training")]
    [InlineData("Experiments2")]
    public void IsValidDiskName_ValidName_ReturnsTrue(string name)
    {
        var valid = ReservationRules.IsValidDiskName(name);

        Assert.True(valid);
    }

    [Theory]
    [InlineData("")]
    [InlineData("a/b")]
    [InlineData("../x")]
    [InlineData("a.b")]
    [InlineData("has space")]
    [InlineData("disk;rm")]
    [InlineData("disk\n")]
    [InlineData("di\nsk")]
    public void IsValidDiskName_InvalidName_ReturnsFalse(string name)
    {
        var valid = ReservationRules.IsValidDiskName(name);

        Assert.False(valid);
    }

    [Fact]
    public void IsValidDiskName_SixtyFiveCharacters_ReturnsFalseButSixtyFourIsValid()
    {
        var name = new string('d', 65);

        var valid65 = ReservationRules.IsValidDiskName(name);
        var valid64 = ReservationRules.IsValidDiskName(name[..64]);

        Assert.False(valid65);
        Assert.True(valid64);
    }

    [Fact]
    public void IsValidDiskName_None_ReturnsFalseBecauseItMeansTemporary()
    {
        var valid = ReservationRules.IsValidDiskName("none");

        Assert.False(valid);
    }

    [Theory]
    [InlineData("none")]
    [InlineData("pytorch-dev")]
    public void Validate_ValidDisk_IsValid(string disk)
    {
        var request = s_valid with { Disk = disk };

        var errors = Validate(request);

        AssertValid(errors);
    }

    [Theory]
    [InlineData("a/b")]
    [InlineData("../../etc")]
    [InlineData("")]
    [InlineData("pytorch-dev\n")]
    public void Validate_InvalidDisk_ReportsInvalidDiskName(string disk)
    {
        var request = s_valid with { Disk = disk };

        var errors = Validate(request);

        var error = Single(errors, "invalid-disk-name");
        Assert.Equal("disk", error.Field);
        Assert.Contains("none", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_NamedDiskWithNoPersist_ReportsConflictingOptions()
    {
        var request = s_valid with { Disk = "x", NoPersist = true };

        var errors = Validate(request);

        var error = Single(errors, "conflicting-options");
        Assert.Contains("--no-persist", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_JupyterWithPreserveEntrypoint_RefusedBeforeAnythingIsMade()
    {
        var request = s_valid with { DockerImage = "pytorch/pytorch:2.3.0", PreserveEntrypoint = true, Jupyter = true };

        var error = Single(Validate(request), "conflicting-options");

        Assert.Equal("jupyter", error.Field);
        Assert.Contains("--preserve-entrypoint", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_DiskNoneWithNoPersist_IsValid()
    {
        var request = s_valid with { Disk = "none", NoPersist = true };

        var errors = Validate(request);

        AssertValid(errors);
    }

    [Fact]
    public void Validate_NoPersistWithoutDisk_IsValid()
    {
        var request = s_valid with { NoPersist = true, IgnoreNoPersist = true, Jupyter = true };

        var errors = Validate(request);

        AssertValid(errors);
    }

    [Theory]
    [InlineData(null, false)]
    [InlineData("none", false)]
    [InlineData("work", true)]
    public void Validate_RecreateEnvWithoutNamedDisk_ReportsConflict(string? disk, bool noPersist)
    {
        var request = s_valid with { RecreateEnv = true, Disk = disk, NoPersist = noPersist };

        var errors = Validate(request);

        Assert.Contains(errors, e => e is { Code: "conflicting-options", Field: "recreateEnv" });
    }

    [Fact]
    public void Validate_RecreateEnvWithDisk_IsValid()
    {
        var request = s_valid with { RecreateEnv = true, Disk = "work" };

        var errors = Validate(request);

        AssertValid(errors);
    }

    // ---- Docker image / Dockerfile -----------------------------------------------------------

    [Fact]
    public void Validate_DockerfileOfExactlyMaxBytes_IsValid()
    {
        var request = s_valid with { Dockerfile = new string('x', 512 * 1024) };

        var errors = Validate(request);

        AssertValid(errors);
    }

    [Fact]
    public void Validate_DockerfileOneByteOverMax_ReportsDockerfileTooLarge()
    {
        var request = s_valid with { Dockerfile = new string('x', (512 * 1024) + 1) };

        var errors = Validate(request);

        var error = Single(errors, "dockerfile-too-large");
        Assert.Contains("512", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_DockerfileWithMultiByteCharactersOverMaxBytes_ReportsDockerfileTooLarge()
    {
        // 'é' is two bytes in UTF-8: 262,144 characters are exactly 512 KiB of bytes, one more is over.
        var request = s_valid with { Dockerfile = new string('é', (256 * 1024) + 1) };

        var errors = Validate(request);

        Single(errors, "dockerfile-too-large");
    }

    [Fact]
    public void Validate_DockerImageAndDockerfile_ReportsConflictingOptions()
    {
        var request = s_valid with { DockerImage = "pytorch/pytorch:2.3.0", Dockerfile = "FROM ubuntu:24.04\n" };

        var errors = Validate(request);

        var error = Single(errors, "conflicting-options");
        Assert.Contains("--dockerimage", error.Message, StringComparison.Ordinal);
        Assert.Contains("--dockerfile", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_PreserveEntrypointAlone_ReportsConflictingOptions()
    {
        var request = s_valid with { PreserveEntrypoint = true };

        var errors = Validate(request);

        var error = Single(errors, "conflicting-options");
        Assert.Contains("--preserve-entrypoint", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("pytorch/pytorch:2.3.0", null)]
    [InlineData(null, "FROM ubuntu:24.04\n")]
    public void Validate_PreserveEntrypointWithImageOrDockerfile_IsValid(string? image, string? dockerfile)
    {
        var request = s_valid with { PreserveEntrypoint = true, DockerImage = image, Dockerfile = dockerfile };

        var errors = Validate(request);

        AssertValid(errors);
    }

    [Theory]
    [InlineData("pytorch/pytorch:2.3.0-cuda12.1-cudnn8-devel")]
    [InlineData("ubuntu")]
    [InlineData("ghcr.io/org/image:tag")]
    [InlineData("localhost:5000/img@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef")]
    public void Validate_ValidDockerImage_IsValid(string image)
    {
        var request = s_valid with { DockerImage = image };

        var errors = Validate(request);

        AssertValid(errors);
    }

    [Theory]
    [InlineData("pytorch/pytorch latest")]
    [InlineData("ubuntu;rm -rf /")]
    [InlineData("")]
    [InlineData("-ubuntu")]
    [InlineData("ubuntu$(id)")]
    [InlineData("ubuntu\n")]
    [InlineData("ubu\nntu")]
    public void Validate_InvalidDockerImage_ReportsInvalidDockerImage(string image)
    {
        var request = s_valid with { DockerImage = image };

        var errors = Validate(request);

        var error = Single(errors, "invalid-docker-image");
        Assert.Equal("dockerImage", error.Field);
    }

    [Fact]
    public void Validate_DockerImageOver512Characters_ReportsInvalidDockerImage()
    {
        var request = s_valid with { DockerImage = new string('a', 513) };

        var errors = Validate(request);

        Single(errors, "invalid-docker-image");
    }

    // ---- Node labels -----------------------------------------------------------------------

    public static TheoryData<string, string> ValidLabels => new()
    {
        { "nsight", "false" },
        { "example.com/gpu-class", "fast_1" },
        { "k", "" },
        { "a", new string('v', 63) },
    };

    public static TheoryData<string, string> InvalidLabels => new()
    {
        { "a b", "c" },
        { "k", "v;rm" },
        { "", "v" },
        { "k", "v w" },
        { "k", "-v" },
        { "k", new string('v', 64) },
        { new string('k', 64), "v" },
        { "k", "v\n" },
        { "k\n", "v" },
        { "k", "$(id)" },
    };

    [Theory]
    [MemberData(nameof(ValidLabels))]
    public void Validate_ValidNodeLabel_IsValid(string key, string value)
    {
        var request = s_valid with { NodeLabels = new Dictionary<string, string> { [key] = value } };

        var errors = Validate(request);

        AssertValid(errors);
    }

    [Theory]
    [MemberData(nameof(InvalidLabels))]
    public void Validate_InvalidNodeLabel_ReportsInvalidNodeLabel(string key, string value)
    {
        var request = s_valid with { NodeLabels = new Dictionary<string, string> { [key] = value } };

        var errors = Validate(request);

        var error = Single(errors, "invalid-node-label");
        Assert.Equal("nodeLabels", error.Field);
    }

    [Fact]
    public void Validate_TwoInvalidNodeLabels_ReportsBoth()
    {
        var request = s_valid with
        {
            NodeLabels = new Dictionary<string, string> { ["a b"] = "c", ["k"] = "v;rm", ["zone"] = "a" },
        };

        var errors = Validate(request);

        Assert.Equal(2, errors.Count(e => e.Code == "invalid-node-label"));
        Assert.Equal(2, errors.Count);
    }

    // ---- nsight: whole nodes only -----------------------------------------------------------

    [Theory]
    [InlineData("h100", 8)]
    [InlineData("h100", 16)]
    [InlineData("a10g", 4)]
    [InlineData("a10g", 12)]
    [InlineData("t4-small", 1)]
    public void Validate_NsightOnWholeNodes_IsValid(string type, int count)
    {
        var request = s_valid with { GpuType = type, GpuCount = count, Distributed = count > Type(type).GpusPerNode, NodeLabels = new Dictionary<string, string> { ["nsight"] = "true" } };

        var errors = Validate(request);

        AssertValid(errors);
    }

    [Theory]
    [InlineData("h100", 1, "8, 16, 24, 32, 40, 48")]
    [InlineData("h100", 4, "8, 16, 24, 32, 40, 48")]
    [InlineData("a10g", 2, "4, 8, 12, 16, 20, 24, 32, 40, 48")]
    public void Validate_NsightOnPartOfANode_ReportsTheRuleAndTheValidCounts(string type, int count, string valid)
    {
        var request = s_valid with { GpuType = type, GpuCount = count, NodeLabels = new Dictionary<string, string> { ["nsight"] = "TRUE" } };

        var errors = Validate(request);

        var error = Single(errors, "nsight-needs-whole-node");
        Assert.Equal("nodeLabels", error.Field);
        Assert.Equal($"nsight=true needs whole {type} nodes (it grants SYS_ADMIN on the node): GPU count must be one of {valid}; got {count}.", error.Message);
        Assert.DoesNotContain('\n', error.Message);
    }

    [Fact]
    public void Validate_NsightOnACpuOnlyType_IsRefused()
    {
        var request = new ReservationRequest { GpuType = "cpu-x86", Hours = 1, NodeLabels = new Dictionary<string, string> { ["nsight"] = "true" } };

        var errors = Validate(request);

        Assert.Contains("cpu-x86 is CPU-only", Single(errors, "nsight-needs-whole-node").Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_NsightFalse_HasNoWholeNodeRule()
    {
        var request = s_valid with { NodeLabels = new Dictionary<string, string> { ["nsight"] = "false" } };

        var errors = Validate(request);

        AssertValid(errors);
    }

    // ---- Several at once -------------------------------------------------------------------

    [Fact]
    public void Validate_SeveralViolations_ReportsEveryOne()
    {
        var request = new ReservationRequest
        {
            GpuType = "h100",
            GpuCount = 3,
            Hours = 30,
            Name = "a;rm -rf /",
            Disk = "a/b",
            DockerImage = "bad image",
            Dockerfile = new string('x', (512 * 1024) + 1),
            NodeLabels = new Dictionary<string, string> { ["k"] = "v;rm" },
        };

        var errors = Validate(request);

        string[] expected =
        [
            "conflicting-options", "dockerfile-too-large", "invalid-disk-name", "invalid-docker-image",
            "invalid-gpu-count", "invalid-hours", "invalid-name", "invalid-node-label",
        ];
        Assert.Equal(expected, errors.Select(e => e.Code).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Validate_UnknownTypeBadHoursAndConflicts_ReportsEveryOne()
    {
        var request = new ReservationRequest
        {
            GpuType = "v100",
            Hours = double.NaN,
            Disk = "x",
            NoPersist = true,
            PreserveEntrypoint = true,
        };

        var errors = Validate(request);

        Assert.Equal(
            ["conflicting-options", "conflicting-options", "invalid-hours", "unknown-gpu-type"],
            errors.Select(e => e.Code).Order(StringComparer.Ordinal));
        Assert.Contains(errors, e => e.Field == "noPersist");
        Assert.Contains(errors, e => e.Field == "preserveEntrypoint");
    }

    [Fact]
    public void Validate_AnyViolation_HasNonEmptyCodeFieldAndOneLineMessage()
    {
        var request = new ReservationRequest
        {
            GpuType = "h100",
            GpuCount = 12,
            Hours = 0,
            Name = "-x",
            Disk = "a/b",
            DockerImage = "x y",
            Dockerfile = "FROM x",
            PreserveEntrypoint = true,
            NodeLabels = new Dictionary<string, string> { ["a b"] = "c" },
        };

        var errors = Validate(request);

        Assert.NotEmpty(errors);
        Assert.All(errors, e =>
        {
            Assert.False(string.IsNullOrWhiteSpace(e.Code));
            Assert.False(string.IsNullOrWhiteSpace(e.Field));
            Assert.False(string.IsNullOrWhiteSpace(e.Message));
            Assert.DoesNotContain('\n', e.Message);
        });
    }
}
