using GpuDev.Core.Identity;

namespace GpuDev.Core.Tests.Identity;

public sealed class UserNamesTests
{
    public static TheoryData<string> ValidUserNames => new()
    {
        "alice",
        "a",
        "0",
        "bob-smith",
        "bob_smith",
        "user42",
        "9lives",
        "a-",
        new string('a', 32),
    };

    public static TheoryData<string> InvalidUserNames => new()
    {
        "",
        " ",
        "Alice",
        "ALICE",
        "-alice",
        "_alice",
        "alice.smith",
        "alice smith",
        "alice@example.com",
        "../alice",
        "alice/bob",
        "alice;rm -rf /",
        "$(id)",
        "alice\n",
        "ali\nce",
        "\nalice",
        "alice\t",
        "élodie",
        new string('a', 33),
    };

    public static TheoryData<string> ValidGithubLogins => new()
    {
        "octocat",
        "Octo-Cat",
        "a",
        "a-b-c",
        "A1B2",
        "0",
        new string('a', 39),
    };

    public static TheoryData<string> InvalidGithubLogins => new()
    {
        "",
        "-octocat",
        "octocat-",
        "octo--cat",
        "octo_cat",
        "octo.cat",
        "octo cat",
        "octocat\n",
        "octo\ncat",
        "../octocat",
        "octocat;id",
        new string('a', 40),
    };

    [Theory]
    [MemberData(nameof(ValidUserNames))]
    public void IsValid_ValidName_ReturnsTrue(string name)
    {
        var valid = UserNames.IsValid(name);

        Assert.True(valid);
    }

    [Theory]
    [MemberData(nameof(InvalidUserNames))]
    public void IsValid_InvalidName_ReturnsFalse(string? name)
    {
        var valid = UserNames.IsValid(name);

        Assert.False(valid);
    }

    [Theory]
    [MemberData(nameof(ValidGithubLogins))]
    public void IsValidGithub_ValidLogin_ReturnsTrue(string login)
    {
        var valid = UserNames.IsValidGithub(login);

        Assert.True(valid);
    }

    [Theory]
    [MemberData(nameof(InvalidGithubLogins))]
    public void IsValidGithub_InvalidLogin_ReturnsFalse(string? login)
    {
        var valid = UserNames.IsValidGithub(login);

        Assert.False(valid);
    }

    [Fact]
    public void IsValid_Null_ReturnsFalse()
    {
        string? name = null;

        var valid = UserNames.IsValid(name);
        var validGithub = UserNames.IsValidGithub(name);

        Assert.False(valid);
        Assert.False(validGithub);
    }

    [Fact]
    public void Rule_Always_NamesTheLimits()
    {
        var rule = UserNames.Rule;

        Assert.Contains("1-32", rule, StringComparison.Ordinal);
        Assert.Contains("lowercase", rule, StringComparison.Ordinal);
    }
}
