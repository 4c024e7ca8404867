using GpuDev.Core.Identity;
using GpuDev.Server.Hosting;
using Microsoft.Extensions.Options;

namespace GpuDev.Server.Identity;

/// <summary>Fetches <c>{KeysUrl}</c> (GitHub's <c>https://github.com/{user}.keys</c> by default) and keeps only valid key lines.</summary>
internal sealed class HttpSshKeySource(HttpClient http, IOptions<ServerOptions> options) : ISshKeySource
{
    public async Task<IReadOnlyList<string>> GetKeysAsync(string githubUser, CancellationToken cancellationToken)
    {
        if (!UserNames.IsValidGithub(githubUser))
        {
            return [];
        }

        var url = options.Value.KeysUrl.Replace("{user}", Uri.EscapeDataString(githubUser), StringComparison.Ordinal);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(10));
        using var response = await http.GetAsync(new Uri(url), timeout.Token);
        response.EnsureSuccessStatusCode();
        var text = await response.Content.ReadAsStringAsync(timeout.Token);
        return SshPublicKey.ParseMany(text.Length > 256 * 1024 ? text[..(256 * 1024)] : text);
    }
}
