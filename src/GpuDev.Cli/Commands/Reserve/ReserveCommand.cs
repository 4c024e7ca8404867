using System.CommandLine;
using System.Globalization;
using GpuDev.Cli.Client;
using GpuDev.Cli.Commands.Disk;
using GpuDev.Cli.Output;
using GpuDev.Contracts;

namespace GpuDev.Cli.Commands.Reserve;

/// <summary><c>gpu-dev reserve</c>: create a reservation and (unless --no-wait) wait until it is active. The options and
/// the order of the steps live here; the questions on a terminal are <see cref="ReserveWizard"/> and
/// <see cref="DiskPicker"/>, and the waiting is <see cref="ReservationWaiter"/>.</summary>
internal sealed class ReserveCommand : CliCommand
{
    public const int MaxDockerfileBytes = 512 * 1024;
    public const double DefaultHours = 1;

    private readonly Option<int?> _gpus = new("--gpus", "-g")
    {
        Description = "Number of GPUs (1, 2, 4, 8, 12, 16, 20, 24, 32, 40, 48)",
        CustomParser = CliNumbers.Count("1, 2, 4, 8, 12, 16, 20, 24, 32, 40, 48 (per GPU type: gpu-dev avail)"),
    };
    private readonly Option<string> _gpuType = new("--gpu-type", "-t") { Description = "GPU type, e.g. h100, a100, t4, cpu-x86 (see the server's catalog); required without a terminal" };
    private readonly Option<double?> _hours = new("--hours", "-h")
    {
        Description = "Duration in hours, decimals allowed (0.0833 to 24); default 1 without a terminal",
        CustomParser = CliNumbers.Decimal("0.0833 to 24 hours"),
    };
    private readonly Option<string> _name = new("--name", "-n") { Description = "Optional reservation name" };
    private readonly Option<bool> _jupyter = new("--jupyter") { Description = "Enable Jupyter Lab access (its URL is shown by `gpu-dev show`)" };
    private readonly Option<string> _disk = new("--disk") { Description = "Named persistent disk mounted as /home/dev (see `gpu-dev disk list`), or `none` for temporary storage; on a terminal a missing disk can be created" };
    private readonly Option<bool> _noPersist = new("--no-persist") { Description = "Create without persistent disk (ephemeral /home/dev)" };
    private readonly Option<bool> _ignoreNoPersist = new("--ignore-no-persist") { Description = "Skip warning when disk is in use" };
    private readonly Option<bool> _recreateEnv = new("--recreate-env") { Description = "Re-create the shell dotfiles (.bashrc, .profile, …) on the --disk disk; needs --disk NAME" };
    private readonly Option<bool> _distributed = new("--distributed", "-d") { Description = "Required for multinode reservations (more GPUs than one node holds; a multiple of GPUs per node)" };
    private readonly Option<string> _dockerfile = new("--dockerfile") { Description = "Path to a Dockerfile (max 512 KB); its directory is the build context (local provider; Kubernetes builds the Dockerfile alone)" };
    private readonly Option<string> _dockerImage = new("--dockerimage") { Description = "Custom Docker image (kubernetes provider)" };
    private readonly Option<bool> _preserveEntrypoint = new("--preserve-entrypoint") { Description = "Keep the image's ENTRYPOINT/CMD instead of the SSH server (kubernetes provider)" };
    private readonly Option<string[]> _nodeLabel = new("--node-label", "-l") { Description = "Node selector label KEY=VALUE, repeatable (e.g. nsight=true)", Arity = ArgumentArity.OneOrMore, AllowMultipleArgumentsPerToken = false };
    private readonly Option<bool> _verbose = new("--verbose", "-v") { Description = "Enable debug output (HTTP traffic) on stderr" };
    private readonly Option<bool> _noInteractive = new("--no-interactive") { Description = "Force non-interactive mode (never prompt)" };
    private readonly Option<bool> _noWait = new("--no-wait") { Description = "Return as soon as the reservation is created instead of waiting until it is active" };
    private readonly Option<bool> _json = CommonOptions.Json();

    public ReserveCommand(CliServices services)
        : base(services, "reserve", "Create a GPU reservation and wait until it is ready to connect to.")
    {
        Options.Add(_gpus);
        Options.Add(_gpuType);
        Options.Add(_hours);
        Options.Add(_name);
        Options.Add(_jupyter);
        Options.Add(_disk);
        Options.Add(_noPersist);
        Options.Add(_ignoreNoPersist);
        Options.Add(_recreateEnv);
        Options.Add(_distributed);
        Options.Add(_dockerfile);
        Options.Add(_dockerImage);
        Options.Add(_preserveEntrypoint);
        Options.Add(_nodeLabel);
        Options.Add(_verbose);
        Options.Add(_noInteractive);
        Options.Add(_noWait);
        Options.Add(_json);
        Examples.Add("gpu-dev reserve -t h100 -g 2 -h 4");
        Examples.Add("gpu-dev reserve -t t4 -g 1 -h 2 --disk none");
        Examples.Add("gpu-dev reserve -t t4 -h 2 --disk my-project --recreate-env");
        Examples.Add("gpu-dev reserve -t h100 -g 8 -h 0.5 -n quick-test --no-wait --json");
        Examples.Add("gpu-dev reserve -t h100 -g 16 -h 2 -d   # two full nodes");
        Examples.Add("gpu-dev reserve   # interactive: pick type, count and hours");
    }

    public override async Task<int> ExecuteAsync(ParseResult parseResult, CancellationToken cancellationToken)
    {
        if (parseResult.GetValue(_verbose))
        {
            Services.Verbose = true;
        }

        var request = BuildRequest(parseResult);
        RejectUnsupported(parseResult, request);

        var interactive = Services.CanPrompt && !parseResult.GetValue(_noInteractive);
        var client = Services.CreateClient();
        var prompted = false;
        if (request.GpuType is null || parseResult.GetResult(_hours) is null)
        {
            prompted = interactive;
            request = interactive
                ? await new ReserveWizard(Services).PromptAsync(client, request, parseResult.GetResult(_hours) is null, parseResult.GetResult(_jupyter) is null or { Implicit: true }, cancellationToken).ConfigureAwait(false)
                : await CompleteNonInteractiveAsync(client, request, cancellationToken).ConfigureAwait(false);
        }

        if (interactive)
        {
            request = await new DiskPicker(Services).ResolveAsync(client, request, prompted, cancellationToken).ConfigureAwait(false);
        }

        request = await new BuildContextUpload(Services).AttachAsync(client, request, parseResult.GetValue(_dockerfile), cancellationToken).ConfigureAwait(false);

        ReservationDto reservation;
        try
        {
            reservation = await client.CreateReservationAsync(request, Guid.NewGuid().ToString(), cancellationToken).ConfigureAwait(false);
        }
        catch (CliException ex) when (DiskPicker.IsNamedDisk(request) && request.IgnoreNoPersist && ex.ProblemCode == ProblemCodes.Conflict)
        {
            // --ignore-no-persist: the disk is in use, so this reservation gets a temporary home without asking.
            Services.Console.Error.WriteLine($"note: {ex.Message.TrimEnd('.')}; reserving with a temporary /home/dev instead (--ignore-no-persist)");
            request = DiskPicker.TemporaryHome(request);
            reservation = await client.CreateReservationAsync(request, Guid.NewGuid().ToString(), cancellationToken).ConfigureAwait(false);
        }
        catch (CliException ex) when (DiskPicker.IsNamedDisk(request) && ex.ProblemCode is ProblemCodes.NotFound or ProblemCodes.Conflict)
        {
            var hint = ex.ProblemCode == ProblemCodes.NotFound
                ? $"create it with `gpu-dev disk create {request.Disk}`, or use `--disk none` for temporary storage"
                : "cancel the reservation using it, or use `--disk none` for temporary storage; see `gpu-dev disk list`";
            throw new CliException(ex.ExitCode, ex.Messages, hint, ex) { ProblemCode = ex.ProblemCode };
        }

        var id8 = Format.ShortId(reservation.Id);
        var json = parseResult.GetValue(_json);
        if (!json || Services.Console.IsErrorTty)
        {
            Services.Console.Error.WriteLine($"Reservation {id8} created ({Format.Gpus(reservation)} for {request.Hours.ToString("0.####", CultureInfo.InvariantCulture)}h): {Format.StatusLine(reservation, Services.Time.GetUtcNow(), relative: Services.Console.IsErrorTty)}");
        }

        if (parseResult.GetValue(_noWait))
        {
            if (json)
            {
                JsonOutput.Write(Services.Console.Out, reservation);
            }
            else
            {
                Services.Console.Out.WriteLine(reservation.Id);
                Services.Console.Error.WriteLine($"Check it with `gpu-dev show {id8}`.");
            }

            return ExitCodes.Success;
        }

        try
        {
            reservation = await new ReservationWaiter(Services).WaitAsync(client, reservation, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            Services.Console.Error.WriteLine($"still reserving; check with gpu-dev show {id8}");
            return ExitCodes.Cancelled;
        }

        if (json)
        {
            JsonOutput.Write(Services.Console.Out, reservation);
        }

        if (reservation.Status != "active")
        {
            throw new CliException(ExitCodes.Failure,
                $"reservation {id8} {reservation.Status}: {reservation.StatusReason ?? "no reason given"}",
                $"see the details with `gpu-dev show {id8}`");
        }

        Services.SshFiles.Sync(reservation, Services.Console.Error);
        if (!json)
        {
            ReservationView.WriteConnectInfo(Services.Console.Out, reservation, Services.Time.GetUtcNow(), Services.Console.IsOutputTty);
            ShowCommand.WriteIncludeHint(Services, [reservation]);
        }

        // Asked for Jupyter and did not get it: the reservation stays (its GPUs, ssh), but the command did not do what was asked.
        if (request.Jupyter && string.IsNullOrEmpty(reservation.JupyterUrl))
        {
            throw new CliException(ExitCodes.Failure,
                $"reservation {id8} is active, but Jupyter could not start: {JupyterFailure(reservation)}",
                $"it is kept without Jupyter: connect with `gpu-dev connect {id8}`, or cancel it with `gpu-dev cancel {id8}`");
        }

        return ExitCodes.Success;
    }

    /// <summary>Why Jupyter is missing, from the reason the server gave for the move to active ("…; Jupyter could not start: …").</summary>
    private static string JupyterFailure(ReservationDto reservation)
    {
        const string marker = "Jupyter could not start: ";
        var reason = reservation.History.Select(h => h.Reason).Append(reservation.StatusReason)
            .LastOrDefault(r => r?.Contains(marker, StringComparison.Ordinal) == true);
        return reason is null ? "the server gave no reason" : Ssh.ServerValues.Printable(reason[(reason.IndexOf(marker, StringComparison.Ordinal) + marker.Length)..]);
    }

    private CreateReservationRequest BuildRequest(ParseResult parseResult)
    {
        Dictionary<string, string>? labels = null;
        foreach (var label in parseResult.GetValue(_nodeLabel) ?? [])
        {
            var eq = label.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0 || eq == label.Length - 1)
            {
                throw CliException.Usage($"--node-label must be KEY=VALUE, e.g. nsight=true; got \"{label}\"");
            }

            labels ??= new Dictionary<string, string>(StringComparer.Ordinal);
            labels[label[..eq].Trim()] = label[(eq + 1)..].Trim();
        }

        string? dockerfile = null;
        if (parseResult.GetValue(_dockerfile) is { } path)
        {
            var info = new FileInfo(path);
            if (!info.Exists)
            {
                throw CliException.Usage($"--dockerfile: file \"{path}\" does not exist");
            }

            if (info.Length > MaxDockerfileBytes)
            {
                throw CliException.Usage($"--dockerfile must be at most 512 KB; \"{path}\" is {info.Length / 1024} KB");
            }

            dockerfile = File.ReadAllText(path);
        }

        var disk = parseResult.GetValue(_disk);
        return new CreateReservationRequest
        {
            GpuType = parseResult.GetValue(_gpuType),
            GpuCount = parseResult.GetValue(_gpus),
            Hours = parseResult.GetValue(_hours) ?? DefaultHours,
            Name = parseResult.GetValue(_name),
            Jupyter = parseResult.GetValue(_jupyter),
            Disk = disk,
            NoPersist = parseResult.GetValue(_noPersist) || string.Equals(disk, "none", StringComparison.OrdinalIgnoreCase),
            IgnoreNoPersist = parseResult.GetValue(_ignoreNoPersist),
            RecreateEnv = parseResult.GetValue(_recreateEnv),
            Distributed = parseResult.GetValue(_distributed),
            DockerImage = parseResult.GetValue(_dockerImage),
            Dockerfile = dockerfile,
            PreserveEntrypoint = parseResult.GetValue(_preserveEntrypoint),
            NodeLabels = labels,
        };
    }

    /// <summary>Option combinations that can never work fail here, before anything is sent; the server decides the rest
    /// (e.g. custom images need the kubernetes provider).</summary>
    private void RejectUnsupported(ParseResult parseResult, CreateReservationRequest request)
    {
        if (DiskPicker.IsNamedDisk(request) && DiskNames.Problem(request.Disk) is { } problem)
        {
            throw CliException.Usage($"--disk: {problem}", "or `--disk none` for temporary storage");
        }

        if (request.Disk is not null && !DiskNames.IsNone(request.Disk) && parseResult.GetValue(_noPersist))
        {
            throw CliException.Usage("give either --disk NAME or --no-persist, not both");
        }

        if (request.RecreateEnv && !DiskPicker.IsNamedDisk(request))
        {
            throw CliException.Usage("--recreate-env needs --disk NAME (it re-creates the shell dotfiles on that disk)");
        }

        if (request.PreserveEntrypoint && request.DockerImage is null && request.Dockerfile is null)
        {
            throw CliException.Usage("--preserve-entrypoint needs --dockerimage or --dockerfile (the default image's entry is the SSH server)");
        }

        if (request.DockerImage is not null && request.Dockerfile is not null)
        {
            throw CliException.Usage("give either --dockerimage or --dockerfile, not both");
        }
    }

    private static async Task<CreateReservationRequest> CompleteNonInteractiveAsync(GpuDevClient client, CreateReservationRequest request, CancellationToken ct)
    {
        if (request.GpuType is not null)
        {
            return request;
        }

        string types;
        try
        {
            var catalog = await client.GetGpuTypesAsync(ct).ConfigureAwait(false);
            types = string.Join(", ", catalog.Types.Select(t => t.Name));
        }
        catch (CliException ex) when (ex.ExitCode != ExitCodes.AuthRequired)
        {
            types = "see the README";
        }

        throw CliException.Usage($"--gpu-type is required in non-interactive mode; valid types: {types}",
            "e.g. `gpu-dev reserve -t h100 -g 1 -h 2`");
    }
}
