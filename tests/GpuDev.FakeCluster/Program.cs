using System.Globalization;
using System.Net;
using System.Text;
using GpuDev.Testing.Kubernetes;

// gpu-dev's fake Kubernetes cluster, for trying `gpu-dev-server run --provider kubernetes` without a cluster:
//   dotnet run --project tests/GpuDev.FakeCluster -- [--nodes 4] [--gpus 8] [--instance-type p5.48xlarge] [--kubeconfig PATH]
// It serves the Kubernetes API on loopback, writes a kubeconfig, and (as root) runs a real sshd for every environment
// pod on its NodePort. A small control port evicts pods and removes nodes, as a real cluster might:
//   curl -d '' http://127.0.0.1:<control>/evict/<namespace>/<pod>      curl -d '' http://127.0.0.1:<control>/remove-node/<node>
var settings = Parse(args);
var nodes = int.Parse(settings.GetValueOrDefault("--nodes", "4"), CultureInfo.InvariantCulture);
var gpus = int.Parse(settings.GetValueOrDefault("--gpus", "8"), CultureInfo.InvariantCulture);
var instanceType = settings.GetValueOrDefault("--instance-type", "p5.48xlarge");
var kubeconfig = Path.GetFullPath(settings.GetValueOrDefault("--kubeconfig", "fake-kubeconfig"));

await using var cluster = await FakeKubernetesServer.StartAsync();
for (var i = 0; i < nodes; i++)
{
    cluster.AddNode($"gpu-{i}", gpus, instanceType: instanceType, efa: gpus == 8 ? 32 : 0);
}

await using var sshd = SshdBackend.UnavailableReason is null ? new SshdBackend(cluster) : null;
cluster.WriteKubeconfig(kubeconfig);

using var control = new HttpListener();
var controlPort = FreePort();
control.Prefixes.Add($"http://127.0.0.1:{controlPort}/");
control.Start();

Console.WriteLine($"fake Kubernetes API at {cluster.BaseAddress} with {nodes} nodes of {gpus} GPUs ({instanceType})");
Console.WriteLine($"kubeconfig: {kubeconfig}");
Console.WriteLine(sshd is null ? $"no sshd backend: {SshdBackend.UnavailableReason}; reservations stay preparing" : "sshd backend: on (a real sshd per environment pod)");
Console.WriteLine($"control: curl -d '' http://127.0.0.1:{controlPort}/evict/gpu-dev/<pod> (or /remove-node/<node>); curl http://127.0.0.1:{controlPort}/objects/<resource>");
Console.WriteLine($"server:  bin/gpu-dev-server run --provider kubernetes --kubeconfig {kubeconfig}");

using var stop = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) => { e.Cancel = true; stop.Cancel(); };
AppDomain.CurrentDomain.ProcessExit += (_, _) => stop.Cancel();
while (!stop.IsCancellationRequested)
{
    HttpListenerContext context;
    try
    {
        context = await control.GetContextAsync().WaitAsync(stop.Token);
    }
    catch (OperationCanceledException)
    {
        break;
    }

    var parts = context.Request.Url!.AbsolutePath.Trim('/').Split('/');
    string answer;
    try
    {
        context.Response.StatusCode = 200;
        answer = (context.Request.HttpMethod, parts) switch
        {
            ("POST", ["evict", var ns, var pod]) => Do(() => cluster.EvictPod(ns, pod), $"evicted {ns}/{pod}"),
            ("POST", ["remove-node", var node]) => Do(() => cluster.RemoveNode(node), $"removed node {node}"),
            ("GET", ["objects", var resource]) => "[" + string.Join(",", cluster.List(resource).Select(o => o.ToJsonString())) + "]",
            _ => throw new ArgumentException("unknown control request; valid: POST /evict/NS/POD, POST /remove-node/NODE, GET /objects/RESOURCE"),
        };
    }
    catch (Exception e) when (e is ArgumentException or InvalidOperationException or KeyNotFoundException)
    {
        answer = e.Message;
        context.Response.StatusCode = 400;
    }

    try
    {
        var bytes = Encoding.UTF8.GetBytes(answer + "\n");
        await context.Response.OutputStream.WriteAsync(bytes);
        context.Response.Close();
    }
    catch (Exception e) when (e is ObjectDisposedException or HttpListenerException or IOException)
    {
        Console.Error.WriteLine($"control: could not answer {context.Request.Url}: {e.Message}");
    }
}

static string Do(Action action, string done)
{
    action();
    return done;
}

static Dictionary<string, string> Parse(string[] args)
{
    var result = new Dictionary<string, string>(StringComparer.Ordinal);
    for (var i = 0; i + 1 < args.Length; i += 2)
    {
        if (args[i] is not ("--nodes" or "--gpus" or "--instance-type" or "--kubeconfig"))
        {
            throw new ArgumentException($"unknown option '{args[i]}'; valid: --nodes N, --gpus N, --instance-type T, --kubeconfig PATH");
        }

        result[args[i]] = args[i + 1];
    }

    return result;
}

static int FreePort()
{
    using var listener = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
    listener.Start();
    return ((IPEndPoint)listener.LocalEndpoint).Port;
}
