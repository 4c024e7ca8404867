using GpuDev.Cli.Client;

namespace GpuDev.Cli.Tests.Client;

/// <summary>GPU_DEV_DEBUG prints HTTP traffic; secrets in it (a login's session token, the ID token sent, a signed AWS
/// Authorization header, a created token) must not reach the terminal.</summary>
public sealed class DebugRedactionTests
{
    [Theory]
    [InlineData("{\"token\":\"gdt_secret\",\"user\":\"alice\"}", "{\"token\":\"<redacted>\",\"user\":\"alice\"}")]
    [InlineData("{\"idToken\": \"eyJ.x.y\", \"tokenName\":\"login host\"}", "{\"idToken\":\"<redacted>\", \"tokenName\":\"login host\"}")]
    [InlineData("{\"headers\":{\"Authorization\":\"AWS4-HMAC-SHA256 Credential=AKIA/x, Signature=ab\"}}", "{\"headers\":{\"Authorization\":\"<redacted>\"}}")]
    [InlineData("{\"name\":\"token list\"}", "{\"name\":\"token list\"}")]
    public void Redacted_HidesSecretValues_KeepsTheRest(string body, string shown) =>
        Assert.Equal(shown, GpuDevClient.Redacted(body));
}
