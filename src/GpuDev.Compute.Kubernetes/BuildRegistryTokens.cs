using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Options;

namespace GpuDev.Compute.Kubernetes;

/// <summary>Per-build registry credentials (<c>Kubernetes:BuildRegistryAuth=token</c>): gpu-dev is the registry's token
/// service (the Docker registry token authentication of distribution, Harbor, GitLab...). Each <c>--dockerfile</c> build
/// gets the user <c>build-&lt;reservation id&gt;</c> with a password derived from gpu-dev's key; the token it is issued allows
/// push and pull on its own repository <c>&lt;BuildRegistry path&gt;/gpu-dev-build/&lt;id&gt;</c> only, pull on other
/// repositories (base images) and nothing on other builds' repositories. The registry checks the token's signature
/// against <see cref="CertificatePem"/> (its <c>auth.token.rootcertbundle</c>).</summary>
/// <remarks>The key and its self-signed certificate are one PEM file (<see cref="KubernetesOptions.BuildTokenKeyFile"/>),
/// created on first use (mode 0600); replicas must share it (a Secret mounted as a file).</remarks>
public sealed class BuildRegistryTokens
{
    public const string UserPrefix = "build-";
    public static readonly TimeSpan Lifetime = TimeSpan.FromHours(1);

    private readonly KubernetesOptions _options;
    private readonly TimeProvider _time;
    private readonly Lazy<(ECDsa Key, X509Certificate2 Certificate, byte[] PasswordKey)> _material;

    public BuildRegistryTokens(IOptions<KubernetesOptions> options, TimeProvider time)
    {
        _options = options.Value;
        _time = time;
        _material = new(Load, LazyThreadSafetyMode.ExecutionAndPublication);
    }

    /// <summary>The registry's host (and port) from <see cref="KubernetesOptions.BuildRegistry"/>.</summary>
    public string RegistryHost => SplitRegistry(_options.BuildRegistry).Host;

    /// <summary>The <c>service</c> (audience) the registry names in its challenge: <c>BuildRegistryService</c>, else the host.</summary>
    public string Service => string.IsNullOrEmpty(_options.BuildRegistryService) ? RegistryHost : _options.BuildRegistryService;

    public string Issuer => _options.BuildTokenIssuer;

    /// <summary>The certificate the registry trusts (PEM), to put in its <c>rootcertbundle</c>.</summary>
    public string CertificatePem => _material.Value.Certificate.ExportCertificatePem() + "\n";

    /// <summary>The repository (registry path, no host) a reservation's build pushes to and its pods pull from: the
    /// path of <see cref="K8sNames.BuiltRepository"/>.</summary>
    public string Repository(string reservationId) => SplitRegistry(K8sNames.BuiltRepository(_options.BuildRegistry, reservationId)).Path;

    public (string User, string Password) CredentialsFor(string reservationId) =>
        (UserPrefix + K8sNames.Checked(reservationId), Password(reservationId));

    /// <summary>The reservation whose build these credentials are, or null when they are not a build's.</summary>
    public string? ReservationOf(string? user, string? password)
    {
        if (user is null || password is null || !user.StartsWith(UserPrefix, StringComparison.Ordinal))
        {
            return null;
        }

        var id = user[UserPrefix.Length..];
        if (!K8sNames.IsId(id))
        {
            return null;
        }

        var expected = Encoding.ASCII.GetBytes(Password(id));
        var given = Encoding.UTF8.GetBytes(password);
        return CryptographicOperations.FixedTimeEquals(expected, given) ? id : null;
    }

    /// <summary>A <c>kubernetes.io/dockerconfigjson</c> document with the build's credentials for the registry host.</summary>
    public string DockerConfigJson(string reservationId)
    {
        var (user, password) = CredentialsFor(reservationId);
        return Encoding.UTF8.GetString(Json(w =>
        {
            w.WriteStartObject("auths");
            w.WriteStartObject(RegistryHost);
            w.WriteString("username", user);
            w.WriteString("password", password);
            w.WriteString("auth", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{user}:{password}")));
            w.WriteEndObject();
            w.WriteEndObject();
        }));
    }

    /// <summary>What the build of <paramref name="reservationId"/> may do for each requested scope
    /// (<c>repository:&lt;name&gt;:&lt;actions&gt;</c>): push/pull its own repository, pull others that are not builds.</summary>
    public IReadOnlyList<(string Name, string[] Actions)> Grant(string reservationId, IEnumerable<string> scopes)
    {
        var own = Repository(reservationId);
        var builds = own[..^reservationId.Length]; // the repository every build's own is under
        var granted = new List<(string, string[])>();
        foreach (var scope in scopes)
        {
            var first = scope.IndexOf(':', StringComparison.Ordinal);
            var last = scope.LastIndexOf(':');
            if (first < 0 || last <= first || scope[..first] != "repository")
            {
                continue; // registry:catalog:* and the like: nothing
            }

            var name = scope[(first + 1)..last];
            var wanted = scope[(last + 1)..].Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            string[] allowed = name == own ? ["pull", "push"] : name.StartsWith(builds, StringComparison.Ordinal) ? [] : ["pull"];
            var actions = wanted.Where(allowed.Contains).Distinct(StringComparer.Ordinal).ToArray();
            granted.Add((name, actions));
        }

        return granted;
    }

    /// <summary>The token response of the registry token protocol (<c>token</c>, <c>access_token</c>, <c>expires_in</c>,
    /// <c>issued_at</c>): an ES256 JWT with the certificate in <c>x5c</c>.</summary>
    public string TokenResponse(string reservationId, IEnumerable<string> scopes)
    {
        var now = _time.GetUtcNow();
        var token = Sign(reservationId, Grant(reservationId, scopes), now);
        return Encoding.UTF8.GetString(Json(w =>
        {
            w.WriteString("token", token);
            w.WriteString("access_token", token);
            w.WriteNumber("expires_in", (int)Lifetime.TotalSeconds);
            w.WriteString("issued_at", now.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture));
        }));
    }

    private string Sign(string reservationId, IReadOnlyList<(string Name, string[] Actions)> access, DateTimeOffset now)
    {
        var (key, certificate, _) = _material.Value;
        var header = Json(w =>
        {
            w.WriteString("typ", "JWT");
            w.WriteString("alg", "ES256");
            w.WriteStartArray("x5c");
            w.WriteStringValue(Convert.ToBase64String(certificate.RawData));
            w.WriteEndArray();
        });
        var claims = Json(w =>
        {
            w.WriteString("iss", Issuer);
            w.WriteString("sub", UserPrefix + reservationId);
            w.WriteString("aud", Service);
            w.WriteNumber("iat", now.ToUnixTimeSeconds());
            w.WriteNumber("nbf", now.AddSeconds(-30).ToUnixTimeSeconds());
            w.WriteNumber("exp", (now + Lifetime).ToUnixTimeSeconds());
            w.WriteString("jti", Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16)));
            w.WriteStartArray("access");
            foreach (var (name, actions) in access)
            {
                w.WriteStartObject();
                w.WriteString("type", "repository");
                w.WriteString("name", name);
                w.WriteStartArray("actions");
                foreach (var action in actions)
                {
                    w.WriteStringValue(action);
                }

                w.WriteEndArray();
                w.WriteEndObject();
            }

            w.WriteEndArray();
        });
        var signingInput = $"{Base64Url(header)}.{Base64Url(claims)}";
        var signature = key.SignData(Encoding.ASCII.GetBytes(signingInput), HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
        return $"{signingInput}.{Base64Url(signature)}";
    }

    private string Password(string reservationId)
    {
        var mac = HMACSHA256.HashData(_material.Value.PasswordKey, Encoding.ASCII.GetBytes("gpu-dev-build:" + K8sNames.Checked(reservationId)));
        return Base64Url(mac);
    }

    private (ECDsa, X509Certificate2, byte[]) Load()
    {
        var path = _options.BuildTokenKeyFile;
        if (string.IsNullOrEmpty(path))
        {
            throw new InvalidOperationException("Kubernetes:BuildTokenKeyFile is not set: the key that signs build registry tokens has no file.");
        }

        if (!File.Exists(path))
        {
            Create(path);
        }

        var pem = File.ReadAllText(path);
        using var certificate = X509Certificate2.CreateFromPem(pem, pem);
        var key = certificate.GetECDsaPrivateKey() ?? throw new InvalidOperationException($"{path}: the certificate's key is not an EC key.");
        var publicOnly = X509CertificateLoader.LoadCertificate(certificate.RawData);
        var passwordKey = HMACSHA256.HashData(Encoding.ASCII.GetBytes("gpu-dev build passwords"), key.ExportPkcs8PrivateKey());
        return (key, publicOnly, passwordKey);
    }

    /// <summary>A P-256 key and a self-signed certificate for it (10 years), written next to each other and moved into
    /// place only if no other replica did first.</summary>
    private void Create(string path)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={Issuer} build registry tokens", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, critical: true));
        var now = _time.GetUtcNow();
        using var certificate = request.CreateSelfSigned(now.AddDays(-1), now.AddYears(10));
        var text = certificate.ExportCertificatePem() + "\n" + key.ExportPkcs8PrivateKeyPem() + "\n";
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        var temp = $"{path}.{Guid.NewGuid():N}.tmp";
        var create = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            create.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        using (var file = new FileStream(temp, create))
        {
            file.Write(Encoding.ASCII.GetBytes(text));
            file.Flush(flushToDisk: true);
        }

        try
        {
            File.Move(temp, path, overwrite: false);
        }
        catch (IOException) when (File.Exists(path))
        {
            File.Delete(temp);
        }
    }

    private static (string Host, string Path) SplitRegistry(string? registry)
    {
        var value = (registry ?? "").Trim().TrimEnd('/');
        var slash = value.IndexOf('/', StringComparison.Ordinal);
        return slash < 0 ? (value, "") : (value[..slash], value[(slash + 1)..]);
    }

    private static byte[] Json(Action<Utf8JsonWriter> body)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            body(json);
            json.WriteEndObject();
        }

        return buffer.ToArray();
    }

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
