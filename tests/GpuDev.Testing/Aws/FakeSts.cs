using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;

namespace GpuDev.Testing.Aws;

/// <summary>An STS endpoint on loopback that answers <c>GetCallerIdentity</c> as AWS does: it verifies the request's
/// Signature Version 4 against the secret of the access key it names (recomputed with <see cref="SigV4"/> from what
/// arrived: method, path, signed headers, body), checks the signing date is within 15 minutes, and answers the key's
/// principal in STS's XML, or STS's error XML (<c>SignatureDoesNotMatch</c>, <c>InvalidClientTokenId</c>, ...).</summary>
public sealed partial class FakeSts : IDisposable
{
    private readonly HttpListener _listener = new();
    private readonly Dictionary<string, (string Secret, string Arn, string Account)> _keys = new(StringComparer.Ordinal);
    private readonly Task _loop;

    public FakeSts()
    {
        var port = FreePort();
        Endpoint = $"http://127.0.0.1:{port}/";
        _listener.Prefixes.Add(Endpoint);
        _listener.Start();
        _loop = Task.Run(ServeAsync);
    }

    public string Endpoint { get; }

    /// <summary>How many requests reached it (a refused sign-in that never got here shows the server checked first).</summary>
    public int Requests { get; private set; }

    /// <summary>Makes <paramref name="accessKey"/> (with <paramref name="secret"/>) the credentials of <paramref name="arn"/>.</summary>
    public FakeSts WithKey(string accessKey, string secret, string arn)
    {
        _keys[accessKey] = (secret, arn, arn.Split(':')[4]);
        return this;
    }

    public void Dispose()
    {
        _listener.Stop();
        _listener.Close();
        try
        {
            _loop.Wait(TimeSpan.FromSeconds(5));
        }
        catch (AggregateException)
        {
        }
    }

    private async Task ServeAsync()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync();
            }
            catch (Exception e) when (e is HttpListenerException or ObjectDisposedException)
            {
                return;
            }

            Requests++;
            var (status, xml) = Answer(context.Request, await new StreamReader(context.Request.InputStream, Encoding.UTF8).ReadToEndAsync());
            var bytes = Encoding.UTF8.GetBytes(xml);
            context.Response.StatusCode = status;
            context.Response.ContentType = "text/xml";
            await context.Response.OutputStream.WriteAsync(bytes);
            context.Response.Close();
        }
    }

    private (int Status, string Xml) Answer(HttpListenerRequest request, string body)
    {
        var match = AuthorizationPattern().Match(request.Headers["Authorization"] ?? "");
        if (!match.Success)
        {
            return Error(403, "MissingAuthenticationToken", "Request is missing Authentication Token");
        }

        if (!_keys.TryGetValue(match.Groups["key"].Value, out var key))
        {
            return Error(403, "InvalidClientTokenId", "The security token included in the request is invalid.");
        }

        var amzDate = request.Headers["X-Amz-Date"] ?? "";
        if (!DateTimeOffset.TryParseExact(amzDate, "yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at)
            || (at - DateTimeOffset.UtcNow).Duration() > TimeSpan.FromMinutes(15))
        {
            return Error(403, "SignatureDoesNotMatch", "Signature expired or not yet valid");
        }

        var signed = match.Groups["signed"].Value.Split(';');
        var headers = signed.ToDictionary(h => h, h => h == "host" ? request.Headers["Host"] ?? "" : request.Headers[h] ?? "", StringComparer.Ordinal);
        var expected = SigV4.Signature(key.Secret, request.HttpMethod, request.Url!.AbsolutePath, request.Url.Query.TrimStart('?'), headers, signed, body,
            amzDate, match.Groups["region"].Value, match.Groups["service"].Value);
        if (expected != match.Groups["signature"].Value)
        {
            return Error(403, "SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided.");
        }

        if (body != "Action=GetCallerIdentity&Version=2011-06-15")
        {
            return Error(400, "InvalidAction", "Could not find operation for this request");
        }

        return (200, $"""
            <GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
              <GetCallerIdentityResult><Arn>{key.Arn}</Arn><UserId>AIDTEST{key.Account}</UserId><Account>{key.Account}</Account></GetCallerIdentityResult>
              <ResponseMetadata><RequestId>{Guid.NewGuid()}</RequestId></ResponseMetadata>
            </GetCallerIdentityResponse>
            """);
    }

    private static (int, string) Error(int status, string code, string message) => (status, $"""
        <ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
          <Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error>
          <RequestId>{Guid.NewGuid()}</RequestId>
        </ErrorResponse>
        """);

    private static int FreePort()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }

    [GeneratedRegex(@"^AWS4-HMAC-SHA256 Credential=(?<key>[^/]+)/(?<date>\d{8})/(?<region>[^/]+)/(?<service>[^/]+)/aws4_request, ?SignedHeaders=(?<signed>[^,]+), ?Signature=(?<signature>[0-9a-f]+)$")]
    private static partial Regex AuthorizationPattern();
}
