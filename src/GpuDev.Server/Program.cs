using GpuDev.Server.Hosting;
using Microsoft.Extensions.Options;

/// <summary><c>gpu-dev-server run [options]</c> (the default when the first argument is an option) and
/// <c>gpu-dev-server user add NAME ...</c>.</summary>
public partial class Program
{
    private const string Usage =
        """
        usage: gpu-dev-server run [--data-dir DIR] [--urls URL] [--provider local|kubernetes]
                                  [--store sqlite|postgres] [--postgres CONNECTION-STRING]
                                  [--local-gpus TYPE:COUNT[,TYPE:COUNT...]] [--image IMAGE] [--keys-url URL]
                                  [--kubeconfig FILE] [--namespace NS] [--log-format simple|json]
               gpu-dev-server user add NAME [--github GH] [--ssh-key FILE]... [--admin] [--data-dir DIR]
                                  [--store sqlite|postgres] [--postgres CONNECTION-STRING]

        --store postgres keeps the store and job queue in PostgreSQL (several replicas may share it); --postgres is
        its Npgsql connection string, e.g. "Host=db;Database=gpudev;Username=gpudev;Password=...".
        Every option is also configuration (appsettings.json) and environment: GPUDEV_SERVER__DATADIR,
        GPUDEV_SERVER__KEYSURL, GPUDEV_COMPUTE__PROVIDER, GPUDEV_STORAGE__PROVIDER, GPUDEV_STORAGE__POSTGRES,
        GPUDEV_LOCALHOST__GPUS, GPUDEV_URLS, GPUDEV_KUBERNETES__KUBECONFIG, GPUDEV_KUBERNETES__NAMESPACE,
        GPUDEV_LOGGING__FORMAT (and every Kubernetes:* key, see deploy/kubernetes).
        The log has gpu-dev's state changes at Information and one line per failed request (5xx at error, 4xx at warning);
        --log-format json writes one JSON object a line.
        """;

    public static async Task<int> Main(string[] args)
    {
        try
        {
            switch (args)
            {
                case ["user", .. var rest]:
                    return await UserCommand.RunAsync(rest, Console.Out, Console.Error);
                case ["help" or "--help" or "-?" or "-h", ..]:
                    Console.Out.WriteLine(Usage);
                    return 0;
                case ["--version", ..]:
                    Console.Out.WriteLine(typeof(Program).Assembly.GetName().Version);
                    return 0;
                case ["run", .. var runArgs]:
                    if (UnknownSwitch(runArgs) is { } unknown)
                    {
                        Console.Error.WriteLine($"error: unknown option '{unknown}'; valid: {string.Join(", ", ServerApp.Switches.Keys)}");
                        return 1;
                    }

                    await ServerApp.Build(runArgs).RunAsync();
                    return 0;
                case [var first, ..] when !first.StartsWith('-'):
                    Console.Error.WriteLine($"error: unknown command '{first}'; valid: run, user add, help");
                    return 1;
                default:
                    await ServerApp.Build(args).RunAsync();
                    return 0;
            }
        }
        catch (OptionsValidationException e)
        {
            foreach (var failure in e.Failures)
            {
                Console.Error.WriteLine($"error: {failure}");
            }

            return 1;
        }
    }

    private static string? UnknownSwitch(string[] args)
    {
        for (var i = 0; i < args.Length; i++)
        {
            var name = args[i].Split('=', 2)[0];
            if (!ServerApp.Switches.ContainsKey(name))
            {
                return args[i];
            }

            if (!args[i].Contains('=', StringComparison.Ordinal))
            {
                i++;
            }
        }

        return null;
    }
}
