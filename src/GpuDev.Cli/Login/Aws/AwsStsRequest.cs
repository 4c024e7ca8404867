using System.Text;
using Amazon;
using Amazon.Runtime;
using Amazon.Runtime.Signing;
using GpuDev.Contracts;

namespace GpuDev.Cli.Login.Aws;

/// <summary>The proof of an AWS identity the server asks for: an <c>sts:GetCallerIdentity</c> request signed with the
/// user's credentials by the AWS SDK's Signature Version 4 signer, and not sent. The server sends it to STS, which
/// answers whose it is; the signed <c>X-GpuDev-Server-Id</c> header makes it worthless to any other server.</summary>
internal static class AwsStsRequest
{
    public const string Body = "Action=GetCallerIdentity&Version=2011-06-15";
    public const string ContentType = "application/x-www-form-urlencoded; charset=utf-8";
    public const string ServerIdHeader = "X-GpuDev-Server-Id";

    public static AwsLoginRequest Sign(AwsSigningDto signing, ImmutableCredentials credentials, DateTimeOffset signedAt, string tokenName)
    {
        var url = new Uri(signing.StsEndpoint);
        var request = new AWSSigningRequest { HttpMethod = HttpMethod.Post, RequestUri = url, Content = Encoding.UTF8.GetBytes(Body) };

        // Host is set here rather than left to the signer so that what is sent is what was signed, port included.
        request.Headers["Host"] = url.IsDefaultPort ? url.Host : url.Authority;
        request.Headers["Content-Type"] = ContentType;
        request.Headers[ServerIdHeader] = signing.ServerId;
        var result = AWSSigV4Signer.Sign(request, new AWSSigV4Parameters
        {
            Credentials = string.IsNullOrEmpty(credentials.Token)
                ? new BasicAWSCredentials(credentials.AccessKey, credentials.SecretKey)
                : new SessionAWSCredentials(credentials.AccessKey, credentials.SecretKey, credentials.Token),
            Region = RegionEndpoint.GetBySystemName(signing.Region),
            Service = "sts",
            SignedAt = signedAt.UtcDateTime,
        });

        // Every signed header goes to the server with the Authorization (STS recomputes the signature from them), and no
        // other: the server passes on what it is given.
        var all = new Dictionary<string, string>(request.Headers, StringComparer.OrdinalIgnoreCase);
        foreach (var (name, value) in result.Headers)
        {
            all[name] = value;
        }

        var authorization = all["Authorization"];
        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var name in SignedHeaders(authorization))
        {
            var sent = all.Keys.FirstOrDefault(k => string.Equals(k, name, StringComparison.OrdinalIgnoreCase))
                ?? throw new InvalidOperationException($"the AWS SDK signed the header '{name}' but did not say its value");
            headers[sent] = all[sent];
        }

        headers["Authorization"] = authorization;
        return new AwsLoginRequest(signing.StsEndpoint, Body, headers, tokenName);
    }

    /// <summary>The lower-case names after "SignedHeaders=" in a Signature Version 4 Authorization header.</summary>
    public static IReadOnlyList<string> SignedHeaders(string authorization)
    {
        const string Key = "SignedHeaders=";
        var start = authorization.IndexOf(Key, StringComparison.Ordinal) + Key.Length;
        var end = authorization.IndexOf(',', start);
        return authorization[start..(end < 0 ? authorization.Length : end)].Split(';');
    }
}
