using System.Diagnostics;
using GpuDev.Core.Identity;

namespace GpuDev.Core.Tests.Identity;

public sealed class SshPublicKeyTests
{
    // Real keys, generated with ssh-keygen (private halves discarded).
    private const string Ed25519Data = "AAAAC3NzaC1lZDI1NTE5AAAAIDof3xI3Bf9vXPGKVC89W92vfK9em2l/Y4idbUHeIXnA";
    private const string Ed25519 = "ssh-ed25519 " + Ed25519Data;

    private const string RsaData =
        "AAAAB3NzaC1yc2EAAAADAQABAAABAQDeM/wfBgjiv8bTTIv9aDP66ay7XlhtMsUbStOaA9YIeo9PL0bCng3B7cDdd1KrTQRfEL4JpsALbBBPidlTv28e8EULbbuPfkotQoAtsJQFpdepn8KVTu+XeWIZdYSixy0MvfxuVTT2w/b35IsYrYaih4WGWANBQoaUHerdKORw7u4T4SQpXxEnOncGMUXt4M9Va0fpIRcNWuOX548JOl37B0iDiMDphe9FhoHf7bqgqB0JlVdX603vC7thSP/ovpUoK7LXyLfuBfOgpSAl3oI/x/xIUIB4cVIs3A7UWKHGeHC0Q1cf4KajGqo07sVEATsKwSKUY6qyFs2dbsQz7qSd";
    private const string Rsa = "ssh-rsa " + RsaData;

    private const string EcdsaData =
        "AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBN1M3G2NqvvePfpVjVTBinEndCe4slyWhkyNzs0EaMZsHRAZx2WAeC55L3TPYqGUgOKPLdSjkjl4KqHnyIRMNq8=";
    private const string Ecdsa = "ecdsa-sha2-nistp256 " + EcdsaData;

    public static TheoryData<string, string> ValidLines => new()
    {
        { Ed25519, Ed25519 },
        { Ed25519 + " alice@laptop", Ed25519 + " alice@laptop" },
        { Rsa, Rsa },
        { Rsa + " bob@host", Rsa + " bob@host" },
        { Ecdsa + " e", Ecdsa + " e" },
        { "  " + Ed25519 + "   alice@laptop  ", Ed25519 + " alice@laptop" },
        { "ssh-ed25519    " + Ed25519Data, Ed25519 },
        { Ed25519 + " ", Ed25519 },
    };

    public static TheoryData<string> InvalidLines => new()
    {
        "",
        "   ",
        "command=\"rm -rf /\" " + Ed25519,
        "no-pty,from=\"*\" " + Ed25519,
        "environment=\"LD_PRELOAD=/tmp/x.so\" " + Rsa,
        Ed25519 + "\nssh-rsa " + RsaData,
        Ed25519 + " comment\ncommand=\"x\" " + Ed25519,
        Ed25519 + "\n",
        Ed25519 + "\r",
        "ssh-ed25519\t" + Ed25519Data,
        Ed25519 + " a\u0000b",
        "ssh-ed25519",
        "ssh-ed25519 ",
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5!!!!",
        "ssh-ed25519 " + Ed25519Data[..^1],
        "ssh-ed25519 =AAAAC3NzaC1lZDI1NTE5",
        "ssh-ed25519 AAAA====",
        "ssh-ed25519 AAAA-_AA",
        "ssh-dss " + Ed25519Data,
        "ssh-ed448 " + Ed25519Data,
        "SSH-ED25519 " + Ed25519Data,
        "rm -rf /",
        Ed25519Data,
        "ssh-ed25519 " + new string('A', 16 * 1024),
    };

    [Theory]
    [MemberData(nameof(ValidLines))]
    public void Normalize_ValidLine_ReturnsNormalisedLine(string line, string expected)
    {
        var normalised = SshPublicKey.Normalize(line);

        Assert.Equal(expected, normalised);
    }

    [Theory]
    [MemberData(nameof(InvalidLines))]
    public void Normalize_InvalidLine_ReturnsNull(string line)
    {
        var normalised = SshPublicKey.Normalize(line);

        Assert.Null(normalised);
    }

    [Fact]
    public void Normalize_Null_ReturnsNull()
    {
        string? line = null;

        var normalised = SshPublicKey.Normalize(line);

        Assert.Null(normalised);
    }

    [Theory]
    [InlineData("alice laptop", "alice_laptop")]
    [InlineData("x; rm -rf /", "x__rm_-rf__")]
    [InlineData("$(reboot)`id`", "__reboot__id_")]
    [InlineData("a\"b'c|d&e>f", "a_b_c_d_e_f")]
    [InlineData("user+tag@host.example-1_x", "user+tag@host.example-1_x")]
    public void Normalize_CommentWithShellCharacters_SanitisesComment(string comment, string expectedComment)
    {
        var line = Ed25519 + " " + comment;

        var normalised = SshPublicKey.Normalize(line);

        Assert.Equal(Ed25519 + " " + expectedComment, normalised);
    }

    [Fact]
    public void Normalize_AnyValidComment_LeavesExactlyThreeSpaceSeparatedFields()
    {
        var line = Ed25519 + " a b c ; command=\"x\" ssh-rsa " + RsaData;

        var normalised = SshPublicKey.Normalize(line);

        Assert.NotNull(normalised);
        var parts = normalised.Split(' ');
        Assert.Equal(3, parts.Length);
        Assert.Equal("ssh-ed25519", parts[0]);
        Assert.Equal(Ed25519Data, parts[1]);
        Assert.Matches("^[A-Za-z0-9@._+-]+$", parts[2]);
    }

    [Fact]
    public void Normalize_KeyGeneratedBySshKeygen_IsAccepted()
    {
        var keygen = FindOnPath("ssh-keygen");
        TestSkips.SkipWhen(keygen is null, "ssh-keygen is not installed");
        var dir = Directory.CreateTempSubdirectory("gpudev-sshkey-");
        try
        {
            var keyFile = Path.Combine(dir.FullName, "id_ed25519");
            var start = new ProcessStartInfo(keygen!) { RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var arg in new[] { "-q", "-t", "ed25519", "-N", "", "-C", "test@gpu-dev", "-f", keyFile })
            {
                start.ArgumentList.Add(arg);
            }

            using (var process = Process.Start(start)!)
            {
                Assert.True(process.WaitForExit(30_000), "ssh-keygen timed out");
                Assert.Equal(0, process.ExitCode);
            }

            var publicLine = File.ReadAllText(keyFile + ".pub").TrimEnd('\n');

            var normalised = SshPublicKey.Normalize(publicLine);

            Assert.Equal(publicLine, normalised);
            Assert.StartsWith("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5", normalised, StringComparison.Ordinal);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public void ParseMany_MixedText_KeepsValidLinesOnceInOrder()
    {
        var text = string.Join('\n',
            Ed25519 + " alice@laptop",
            "",
            "command=\"rm -rf /\" " + Ed25519,
            "not a key",
            "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5!!!!",
            Rsa + " bob@host\r",
            "  " + Ed25519 + "   alice@laptop",
            Ed25519 + " alice@laptop",
            "ssh-dss " + Ed25519Data,
            Ecdsa,
            "");

        var keys = SshPublicKey.ParseMany(text);

        Assert.Equal([Ed25519 + " alice@laptop", Rsa + " bob@host", Ecdsa], keys);
    }

    [Fact]
    public void ParseMany_CrLfText_ParsesEveryLine()
    {
        var text = Ed25519 + "\r\n" + Rsa + "\r\n";

        var keys = SshPublicKey.ParseMany(text);

        Assert.Equal([Ed25519, Rsa], keys);
    }

    [Theory]
    [InlineData("")]
    [InlineData("\n\n")]
    [InlineData("garbage\nmore garbage")]
    public void ParseMany_NoValidLines_ReturnsEmpty(string text)
    {
        var keys = SshPublicKey.ParseMany(text);

        Assert.Empty(keys);
    }

    private static string? FindOnPath(string name)
    {
        var path = Environment.GetEnvironmentVariable("PATH") ?? string.Empty;
        return path.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(dir => Path.Combine(dir, name))
            .FirstOrDefault(File.Exists);
    }
}
