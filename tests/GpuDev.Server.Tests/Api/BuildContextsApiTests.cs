using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using GpuDev.Contracts;

namespace GpuDev.Server.Tests.Api;

public sealed class BuildContextsApiTests
{
    private static readonly byte[] s_context = [0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00];

    private static string Sha(byte[] bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));

    [Fact]
    public async Task Upload_StoredByHash_Idempotent_WrongHashOrBadNameRefusedAndNothingStored()
    {
        await using var server = new ServerFixture();
        var client = await server.ClientForAsync("alice");
        var sha = Sha(s_context);

        var first = await client.PutAsync(Routes.BuildContext(sha), new ByteArrayContent(s_context), TestContext.Current.CancellationToken);
        var again = await client.PutAsync(Routes.BuildContext(sha), new ByteArrayContent(s_context), TestContext.Current.CancellationToken);
        var wrong = await client.PutAsync(Routes.BuildContext(new string('a', 64)), new ByteArrayContent(s_context), TestContext.Current.CancellationToken);
        var badName = await client.PutAsync(Routes.BuildContext("../../etc"), new ByteArrayContent(s_context), TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, wrong.StatusCode);
        Assert.Contains($"is {sha}", await wrong.Content.ReadAsStringAsync(TestContext.Current.CancellationToken), StringComparison.Ordinal);
        Assert.True(badName.StatusCode is HttpStatusCode.BadRequest or HttpStatusCode.NotFound, badName.StatusCode.ToString());
        var stored = Directory.GetFiles(Path.Combine(server.DataDir, "build-contexts"));
        Assert.Equal([Path.Combine(server.DataDir, "build-contexts", sha + ".tar.gz")], stored);
        Assert.Equal(s_context, await File.ReadAllBytesAsync(stored[0], TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task Reserve_WithContext_NeedsItUploadedAndAProviderThatBuildsFromContexts()
    {
        await using var server = new ServerFixture();
        server.Provider.SupportsCustomImages = true;
        var client = await server.ClientForAsync("alice");
        var sha = Sha(s_context);
        var request = new CreateReservationRequest { GpuType = "h100", GpuCount = 1, Hours = 1, Dockerfile = "FROM debian\n", BuildContext = sha };

        server.Provider.SupportsBuildContexts = true;
        var missing = await client.PostAsJsonAsync(Routes.Reservations, request, GpuDevJsonContext.Default.CreateReservationRequest, TestContext.Current.CancellationToken);
        await client.PutAsync(Routes.BuildContext(sha), new ByteArrayContent(s_context), TestContext.Current.CancellationToken);
        var created = await client.PostAsJsonAsync(Routes.Reservations, request, GpuDevJsonContext.Default.CreateReservationRequest, TestContext.Current.CancellationToken);
        server.Provider.SupportsBuildContexts = false;
        var unsupported = await client.PostAsJsonAsync(Routes.Reservations, request, GpuDevJsonContext.Default.CreateReservationRequest, TestContext.Current.CancellationToken);
        var withoutDockerfile = await client.PostAsJsonAsync(Routes.Reservations, request with { Dockerfile = null }, GpuDevJsonContext.Default.CreateReservationRequest, TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.BadRequest, missing.StatusCode);
        Assert.Contains("has not been uploaded", await missing.Content.ReadAsStringAsync(TestContext.Current.CancellationToken), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.UnprocessableEntity, unsupported.StatusCode);
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, withoutDockerfile.StatusCode);
        Assert.Single(await server.Store.ListReservationsAsync(new GpuDev.Core.Storage.ReservationQuery(), TestContext.Current.CancellationToken));
    }
}
