using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace GpuDev.Testing.Aws;

/// <summary>AWS Signature Version 4 for one request, written from AWS's documentation ("Create a signed AWS API request")
/// independently of the SDK: the fake STS verifies with it, so the CLI's signing with the AWS SDK is checked against
/// the algorithm, not against itself.</summary>
public static class SigV4
{
    /// <summary>The hex signature of a request whose headers (name → value) include every signed one.</summary>
    public static string Signature(string secretKey, string method, string path, string query, IReadOnlyDictionary<string, string> headers,
        IReadOnlyList<string> signedHeaders, string body, string amzDate, string region, string service)
    {
        var canonicalHeaders = string.Concat(signedHeaders.Select(h => $"{h}:{string.Join(' ', headers[h].Trim().Split(' ', StringSplitOptions.RemoveEmptyEntries))}\n"));
        var canonicalRequest = string.Join('\n', method, path, query, canonicalHeaders, string.Join(';', signedHeaders), Hex(SHA256.HashData(Encoding.UTF8.GetBytes(body))));
        var date = amzDate[..8];
        var scope = $"{date}/{region}/{service}/aws4_request";
        var toSign = string.Join('\n', "AWS4-HMAC-SHA256", amzDate, scope, Hex(SHA256.HashData(Encoding.UTF8.GetBytes(canonicalRequest))));
        var key = Hmac(Hmac(Hmac(Hmac(Encoding.UTF8.GetBytes("AWS4" + secretKey), date), region), service), "aws4_request");
        return Hex(Hmac(key, toSign));
    }

    /// <summary>Signs a POST of <paramref name="body"/> to <paramref name="url"/> with <paramref name="extraHeaders"/>
    /// among the signed headers; returns every header to send (Host, X-Amz-Date, Content-Type, Authorization, ...).</summary>
    public static Dictionary<string, string> SignPost(string accessKey, string secretKey, Uri url, string body, DateTimeOffset at, string region,
        IReadOnlyDictionary<string, string>? extraHeaders = null, string? sessionToken = null)
    {
        var amzDate = at.UtcDateTime.ToString("yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture);
        var headers = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["host"] = url.IsDefaultPort ? url.Host : url.Authority,
            ["x-amz-date"] = amzDate,
            ["content-type"] = "application/x-www-form-urlencoded; charset=utf-8",
        };
        if (sessionToken is not null)
        {
            headers["x-amz-security-token"] = sessionToken;
        }

        foreach (var (name, value) in extraHeaders ?? new Dictionary<string, string>())
        {
            headers[name.ToLowerInvariant()] = value;
        }

        var signed = headers.Keys.Order(StringComparer.Ordinal).ToList();
        var signature = Signature(secretKey, "POST", url.AbsolutePath, "", headers, signed, body, amzDate, region, "sts");
        var sent = headers.ToDictionary(h => h.Key, h => h.Value, StringComparer.OrdinalIgnoreCase);
        sent["authorization"] = $"AWS4-HMAC-SHA256 Credential={accessKey}/{amzDate[..8]}/{region}/sts/aws4_request, SignedHeaders={string.Join(';', signed)}, Signature={signature}";
        return sent;
    }

    private static byte[] Hmac(byte[] key, string data) => HMACSHA256.HashData(key, Encoding.UTF8.GetBytes(data));

    private static string Hex(byte[] bytes) => Convert.ToHexStringLower(bytes);
}
