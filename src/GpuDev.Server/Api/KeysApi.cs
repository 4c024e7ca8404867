using GpuDev.Contracts;
using GpuDev.Core.Identity;
using GpuDev.Core.Storage;
using GpuDev.Server.Audit;
using GpuDev.Server.Identity;
using Microsoft.AspNetCore.Http.HttpResults;

namespace GpuDev.Server.Api;

/// <summary>The caller's registered SSH keys: list, add (validated as at <c>user add</c>), remove by fingerprint. A change
/// reaches the caller's active reservations at once (their environments get the new set of keys).</summary>
public static class KeysApi
{
    public static RouteGroupBuilder MapKeysApi(this RouteGroupBuilder api)
    {
        api.MapGet("/me/keys", ListAsync).WithName("ListKeys").WithTags("Account");
        api.MapPost("/me/keys", AddAsync).WithName("AddKey").WithTags("Account");
        api.MapDelete("/me/keys", RemoveAsync).WithName("RemoveKey").WithTags("Account");
        return api;
    }

    internal static async Task<Ok<List<SshKeyDto>>> ListAsync(CurrentUser caller, IReservationStore store, CancellationToken cancellationToken) =>
        TypedResults.Ok((await store.GetSshKeysAsync(caller.Id, cancellationToken)).Select(ToDto).ToList());

    internal static async Task<Results<Created<SshKeyChangeDto>, ProblemHttpResult>> AddAsync(
        CurrentUser caller, AddSshKeyRequest body, IIdentityStore identity, KeyPropagation propagation, HttpContext http, CancellationToken cancellationToken)
    {
        if (SshPublicKey.Normalize(body.Key) is not { } key)
        {
            return Problems.BadRequest(
                "That is not an OpenSSH public key line: 'TYPE BASE64 [comment]' with TYPE one of ssh-ed25519, ssh-rsa, ecdsa-sha2-nistp256/384/521, "
                + "sk-ssh-ed25519@openssh.com, sk-ecdsa-sha2-nistp256@openssh.com; key options and private keys are not accepted (give the .pub file).", "key");
        }

        var dto = ToDto(key);
        http.Items[AuditMiddleware.TargetItem] = dto.Fingerprint;
        if (!await identity.AddSshKeyAsync(caller.Id, key, cancellationToken))
        {
            return Problems.Conflict($"The key {dto.Fingerprint} is registered already.");
        }

        var updated = await propagation.ApplyAsync(caller.User, cancellationToken);
        return TypedResults.Created(Routes.MeKeys, new SshKeyChangeDto(dto, updated));
    }

    internal static async Task<Results<Ok<SshKeyChangeDto>, ProblemHttpResult>> RemoveAsync(
        CurrentUser caller, string? fingerprint, IReservationStore store, IIdentityStore identity, KeyPropagation propagation, HttpContext http, CancellationToken cancellationToken)
    {
        var keys = (await store.GetSshKeysAsync(caller.Id, cancellationToken)).Select(ToDto).ToList();
        var wanted = fingerprint?.Trim() ?? "";
        if (!wanted.StartsWith("SHA256:", StringComparison.Ordinal) && wanted.Length > 0)
        {
            wanted = "SHA256:" + wanted;
        }

        http.Items[AuditMiddleware.TargetItem] = wanted;
        var key = keys.FirstOrDefault(k => string.Equals(k.Fingerprint, wanted, StringComparison.Ordinal));
        if (key is null)
        {
            return Problems.NotFound(keys.Count == 0
                ? "You have no registered SSH keys."
                : $"None of your keys has the fingerprint '{(wanted.Length > 60 ? wanted[..60] + "…" : wanted)}'; yours: {string.Join(", ", keys.Select(k => k.Fingerprint))}.");
        }

        await identity.RemoveSshKeyAsync(caller.Id, key.Key, cancellationToken);
        var updated = await propagation.ApplyAsync(caller.User, cancellationToken);
        return TypedResults.Ok(new SshKeyChangeDto(key, updated));
    }

    private static SshKeyDto ToDto(string key)
    {
        var parts = key.Split(' ', 3);
        return new SshKeyDto(SshPublicKey.Fingerprint(key), parts[0], parts.Length == 3 ? parts[2] : null, key);
    }
}
