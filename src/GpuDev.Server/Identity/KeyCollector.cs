using GpuDev.Core.Identity;
using GpuDev.Core.Reservations;
using GpuDev.Core.Storage;

namespace GpuDev.Server.Identity;

/// <summary>The public keys a reservation's sshd accepts: the owner's registered keys, the owner's GitHub keys,
/// and the GitHub keys of every added user. A key source that cannot be reached contributes nothing (logged).</summary>
internal sealed partial class KeyCollector(IReservationStore store, ISshKeySource keySource, ILogger<KeyCollector> logger)
{
    public async Task<IReadOnlyList<string>> CollectAsync(Reservation reservation, CancellationToken cancellationToken)
    {
        var keys = new List<string>(await store.GetSshKeysAsync(reservation.UserId, cancellationToken));
        var owner = await store.FindUserByNameAsync(reservation.UserName, cancellationToken);
        var githubUsers = new List<string>();
        if (owner?.GithubUser is { } github)
        {
            githubUsers.Add(github);
        }

        githubUsers.AddRange(reservation.AddedUsers);
        foreach (var user in githubUsers.Distinct(StringComparer.OrdinalIgnoreCase))
        {
            try
            {
                keys.AddRange(await keySource.GetKeysAsync(user, cancellationToken));
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                LogKeysUnavailable(logger, user, e.Message);
            }
        }

        return [.. keys.Distinct(StringComparer.Ordinal)];
    }

    /// <summary>Why <paramref name="githubUser"/> cannot be added to a reservation — no such GitHub user, no SSH keys there,
    /// or the key source unreachable (<c>Unavailable</c>: worth retrying) — or null when they have keys to log in with.</summary>
    public async Task<(bool Unavailable, string Message)?> CheckAddableAsync(string githubUser, CancellationToken cancellationToken)
    {
        try
        {
            var found = await keySource.GetKeysAsync(githubUser, cancellationToken);
            return found.Count > 0 ? null : (false, $"GitHub user {githubUser} has no SSH keys (github.com/{githubUser}.keys is empty), so they could not log in; they can add one at github.com/settings/keys.");
        }
        catch (HttpRequestException e) when (e.StatusCode == System.Net.HttpStatusCode.NotFound)
        {
            return (false, $"There is no GitHub user {githubUser} (their keys page answered 404 Not Found).");
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
        {
            LogKeysUnavailable(logger, githubUser, e.Message);
            return (true, $"The SSH keys of GitHub user {githubUser} could not be fetched ({e.Message}); nothing was changed, try again later.");
        }
    }

    [LoggerMessage(EventId = 1150, Level = LogLevel.Warning, Message = "Could not fetch the SSH keys of GitHub user {GithubUser}: {Message}")]
    private static partial void LogKeysUnavailable(ILogger logger, string githubUser, string message);
}
