using System.Net;
using System.Net.Sockets;
using System.Text;

namespace GpuDev.EndToEnd.Tests;

/// <summary>A stand-in for https://github.com/{user}.keys on loopback.</summary>
internal sealed class KeysServer : IDisposable
{
    private readonly HttpListener _listener = new();
    private readonly Dictionary<string, string> _keys;

    public KeysServer(Dictionary<string, string> keys)
    {
        _keys = keys;
        using (var probe = new TcpListener(IPAddress.Loopback, 0))
        {
            probe.Start();
            Port = ((IPEndPoint)probe.LocalEndpoint).Port;
        }

        _listener.Prefixes.Add($"http://127.0.0.1:{Port}/");
        _listener.Start();
        _ = ServeAsync();
    }

    public int Port { get; }

    public string Url => $"http://127.0.0.1:{Port}/{{user}}.keys";

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

            var user = context.Request.Url!.AbsolutePath.Trim('/').Replace(".keys", "", StringComparison.Ordinal);
            var body = Encoding.UTF8.GetBytes(_keys.GetValueOrDefault(user, ""));
            context.Response.StatusCode = _keys.ContainsKey(user) ? 200 : 404;
            await context.Response.OutputStream.WriteAsync(body);
            context.Response.Close();
        }
    }

    public void Dispose() => _listener.Close();
}
