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

    [LoggerMessage(EventId = 1150, Level = LogLevel.Warning, Message = "Could not fetch the SSH keys of GitHub user {GithubUser}: {Message}")]
    private static partial void LogKeysUnavailable(ILogger logger, string githubUser, string message);
}
