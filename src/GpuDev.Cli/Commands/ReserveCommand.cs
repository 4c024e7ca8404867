using System.CommandLine;
using System.Globalization;
using GpuDev.Cli.Client;
using GpuDev.Cli.Output;
using GpuDev.Contracts;
using Spectre.Console;

namespace GpuDev.Cli.Commands;

/// <summary><c>gpu-dev reserve</c>: create a reservation and (unless --no-wait) wait until it is active.</summary>
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
                ? await PromptAsync(client, request, parseResult.GetResult(_hours) is null, parseResult.GetResult(_jupyter) is null or { Implicit: true }, cancellationToken).ConfigureAwait(false)
                : await CompleteNonInteractiveAsync(client, request, cancellationToken).ConfigureAwait(false);
        }

        if (interactive)
        {
            request = await ResolveDiskAsync(client, request, prompted, cancellationToken).ConfigureAwait(false);
        }

        request = await AttachBuildContextAsync(client, request, parseResult.GetValue(_dockerfile), cancellationToken).ConfigureAwait(false);

        ReservationDto reservation;
        try
        {
            reservation = await client.CreateReservationAsync(request, Guid.NewGuid().ToString(), cancellationToken).ConfigureAwait(false);
        }
        catch (CliException ex) when (IsNamedDisk(request) && request.IgnoreNoPersist && ex.ProblemCode == ProblemCodes.Conflict)
        {
            // --ignore-no-persist: the disk is in use, so this reservation gets a temporary home without asking.
            Services.Console.Error.WriteLine($"note: {ex.Message.TrimEnd('.')}; reserving with a temporary /home/dev instead (--ignore-no-persist)");
            request = TemporaryHome(request);
            reservation = await client.CreateReservationAsync(request, Guid.NewGuid().ToString(), cancellationToken).ConfigureAwait(false);
        }
        catch (CliException ex) when (IsNamedDisk(request) && ex.ProblemCode is ProblemCodes.NotFound or ProblemCodes.Conflict)
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
            reservation = await WaitAsync(client, reservation, cancellationToken).ConfigureAwait(false);
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

    /// <summary>With <c>--dockerfile</c> on a provider that builds from a context (local): packs the Dockerfile's directory and
    /// uploads it first, so that <c>COPY</c>/<c>ADD</c> find their files.</summary>
    private async Task<CreateReservationRequest> AttachBuildContextAsync(GpuDevClient client, CreateReservationRequest request, string? dockerfile, CancellationToken cancellationToken)
    {
        if (dockerfile is null || request.Dockerfile is null)
        {
            return request;
        }

        var me = await client.GetMeAsync(cancellationToken).ConfigureAwait(false);
        if (me.Provider != "local")
        {
            return request;
        }

        var directory = Path.GetDirectoryName(Path.GetFullPath(dockerfile))!;
        using var packed = await Builds.BuildContextPacker.PackAsync(directory, cancellationToken).ConfigureAwait(false);
        Services.Console.Error.WriteLine($"Uploading the build context {directory} ({packed.Entries.ToString(CultureInfo.InvariantCulture)} entries, {(packed.Bytes / 1024.0).ToString("0.#", CultureInfo.InvariantCulture)} KiB)...");
        await client.UploadBuildContextAsync(packed.Sha256, packed.File, cancellationToken).ConfigureAwait(false);
        return request with { BuildContext = packed.Sha256 };
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
        if (IsNamedDisk(request) && DiskNames.Problem(request.Disk) is { } problem)
        {
            throw CliException.Usage($"--disk: {problem}", "or `--disk none` for temporary storage");
        }

        if (request.Disk is not null && !DiskNames.IsNone(request.Disk) && parseResult.GetValue(_noPersist))
        {
            throw CliException.Usage("give either --disk NAME or --no-persist, not both");
        }

        if (request.RecreateEnv && !IsNamedDisk(request))
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

    private async Task<CreateReservationRequest> PromptAsync(GpuDevClient client, CreateReservationRequest request, bool askHours, bool askJupyter, CancellationToken ct)
    {
        var console = Services.Console;
        var catalog = await client.GetGpuTypesAsync(ct).ConfigureAwait(false);

        // Each menu fetches the counts when it is shown and again every MenuRefreshInterval while it is open:
        // GPUs free up (or get taken) while the user reads.
        var gpuType = request.GpuType;
        var type = catalog.Types.FirstOrDefault(t => t.Name == gpuType);
        if (gpuType is null)
        {
            var availability = await TryGetAvailabilityAsync(client, ct).ConfigureAwait(false);
            var choices = TypeChoices(catalog, availability);
            var shown = choices.Select(c => c.Type).ToList();
            var refresh = availability is null ? null : new MenuRefresh(Services.MenuRefreshInterval, async t =>
                await TryGetAvailabilityAsync(client, t).ConfigureAwait(false) is { } fresh ? TypeLabels(catalog, shown, fresh) : null);
            var chosen = choices[console.Select("GPU type? (free now / total on this site)", choices.Select(c => c.Label).ToList(), ct, refresh)];
            (type, gpuType) = (chosen.Type, chosen.Type.Name);
        }

        var count = request.GpuCount;
        var distributed = request.Distributed;
        if (count is null && type is { CpuOnly: false })
        {
            var availability = await TryGetAvailabilityAsync(client, ct).ConfigureAwait(false);
            var choices = CountChoices(catalog, type, availability?.Types.FirstOrDefault(a => a.GpuType == gpuType), request.Distributed, Services.Time.GetUtcNow());
            if (choices.Count > 1)
            {
                var refresh = availability is null ? null : new MenuRefresh(Services.MenuRefreshInterval, async t =>
                {
                    var fresh = await TryGetAvailabilityAsync(client, t).ConfigureAwait(false);
                    var again = CountChoices(catalog, type, fresh?.Types.FirstOrDefault(a => a.GpuType == gpuType), request.Distributed, Services.Time.GetUtcNow());
                    return fresh is not null && again.Select(c => c.Count).SequenceEqual(choices.Select(c => c.Count)) ? again.Select(c => c.Label).ToList() : null;
                });
                var chosen = choices[console.Select("How many GPUs?", choices.Select(c => c.Label).ToList(), ct, refresh)];
                count = chosen.Count;
                distributed |= chosen.Multinode;
            }
            else if (choices.Count == 1)
            {
                count = choices[0].Count;
            }
        }

        var hours = request.Hours;
        if (askHours)
        {
            while (true)
            {
                var answer = console.Ask($"Hours ({catalog.MinHours.ToString(CultureInfo.InvariantCulture)}–{catalog.MaxHours.ToString(CultureInfo.InvariantCulture)}, decimals allowed)?", "1", ct);
                if (CliNumbers.TryParseDecimal(answer, out hours) && hours >= catalog.MinHours && hours <= catalog.MaxHours)
                {
                    break;
                }

                console.Error.WriteLine($"hours must be a number between {catalog.MinHours.ToString(CultureInfo.InvariantCulture)} and {catalog.MaxHours.ToString(CultureInfo.InvariantCulture)}: {CliNumbers.DecimalRule}");
            }
        }

        var jupyter = request.Jupyter || (askJupyter && console.Confirm("Enable Jupyter Lab?", defaultValue: false, ct));

        var name = request.Name;
        if (name is null)
        {
            var answer = console.Ask("Name (optional)?", string.Empty, ct);
            name = string.IsNullOrWhiteSpace(answer) ? null : answer;
        }

        return request with { GpuType = gpuType, GpuCount = count, Hours = hours, Name = name, Jupyter = jupyter, Distributed = distributed };
    }

    private static CreateReservationRequest TemporaryHome(CreateReservationRequest request) => request with { Disk = "none", NoPersist = true, RecreateEnv = false };

    private static bool IsNamedDisk(CreateReservationRequest request) => request.Disk is not null && !DiskNames.IsNone(request.Disk) && !request.NoPersist;

    /// <summary>On a terminal: a named disk that does not exist can be created (and one in use swapped for a temporary
    /// home); without --disk, after the other prompts, the user picks one of their disks, a new one or none.</summary>
    private async Task<CreateReservationRequest> ResolveDiskAsync(GpuDevClient client, CreateReservationRequest request, bool prompted, CancellationToken ct)
    {
        if (request.NoPersist || (request.Disk is null && !prompted))
        {
            return request;
        }

        List<DiskDto> disks;
        try
        {
            disks = await client.ListDisksAsync(null, false, ct).ConfigureAwait(false);
        }
        catch (CliException ex) when (ex.ExitCode == ExitCodes.Failure)
        {
            // A server without disks: let the POST answer.
            return request;
        }

        disks = disks.Where(d => d.Status != "deleted").ToList();
        var console = Services.Console;
        if (request.Disk is { } name)
        {
            var disk = disks.FirstOrDefault(d => d.Name == name);
            if (disk is null)
            {
                if (!console.Confirm($"No disk named {name}. Create disk {name}?", defaultValue: false, ct))
                {
                    throw new CliException(ExitCodes.Cancelled, $"no disk named {name}; nothing reserved",
                        $"create it with `gpu-dev disk create {name}`, or use `--disk none` for temporary storage");
                }

                await CreateDiskAsync(client, name, ct).ConfigureAwait(false);
                return request;
            }

            if (disk.Status == "in-use" && request.IgnoreNoPersist)
            {
                var user = disk.AttachedTo is { } holder ? $" by reservation {Format.ShortId(holder)}" : string.Empty;
                console.Error.WriteLine($"note: disk {name} is in use{user}; reserving with a temporary /home/dev instead (--ignore-no-persist)");
                return TemporaryHome(request);
            }

            if (disk.Status == "in-use")
            {
                var by = disk.AttachedTo is { } r ? $" by reservation {Format.ShortId(r)}" : string.Empty;
                if (!console.Confirm($"Disk {name} is in use{by}. Reserve with a temporary home instead (its data is lost at the end)?", defaultValue: false, ct))
                {
                    throw new CliException(ExitCodes.Failure, $"disk {name} is in use{by}",
                        "cancel the reservation using it, or use `--disk none` for temporary storage; see `gpu-dev disk list`");
                }

                return TemporaryHome(request);
            }

            return request;
        }

        var choices = DiskChoices(disks, Services.Time.GetUtcNow());
        var labels = choices.Select(c => c.Label).ToList();
        while (true)
        {
            var chosen = choices[console.Select("Disk for /home/dev?", labels, ct)];
            switch (chosen.Kind)
            {
                case DiskChoiceKind.None:
                    return request with { Disk = "none", NoPersist = true };
                case DiskChoiceKind.Create:
                    var newName = AskNewDiskName(disks, ct);
                    await CreateDiskAsync(client, newName, ct).ConfigureAwait(false);
                    return request with { Disk = newName };
                case DiskChoiceKind.InUse:
                    console.Error.WriteLine($"disk {chosen.Disk!.Name} is in use{(chosen.Disk.AttachedTo is { } r ? $" by reservation {Format.ShortId(r)}" : string.Empty)}; pick another");
                    continue;
                default:
                    return request with { Disk = chosen.Disk!.Name };
            }
        }
    }

    private string AskNewDiskName(List<DiskDto> disks, CancellationToken ct)
    {
        var console = Services.Console;
        while (true)
        {
            var name = console.Ask($"New disk name ({DiskNames.Rule})?", null, ct).Trim();
            if (DiskNames.Problem(name) is { } problem)
            {
                console.Error.WriteLine(problem);
            }
            else if (disks.Any(d => d.Name == name))
            {
                console.Error.WriteLine($"disk {name} already exists");
            }
            else
            {
                return name;
            }
        }
    }

    private async Task CreateDiskAsync(GpuDevClient client, string name, CancellationToken ct)
    {
        var disk = await client.CreateDiskAsync(name, ct).ConfigureAwait(false);
        Services.Console.Error.WriteLine($"Created disk {disk.Name} ({DiskTable.Bytes(disk.QuotaBytes)})");
    }

    internal enum DiskChoiceKind
    {
        Disk,
        InUse,
        Create,
        None,
    }

    internal sealed record DiskChoice(DiskChoiceKind Kind, DiskDto? Disk, string Label);

    public const string CreateDiskChoice = "create new…";
    public const string NoDiskChoice = "none (temporary home)";

    /// <summary>Your disks ("pytorch-dev  1.2 GB, last used 2d ago", "old  (in use by abcd1234)"), then
    /// "create new…" and "none (temporary home)". Available disks first, most recently used first.</summary>
    internal static List<DiskChoice> DiskChoices(IReadOnlyList<DiskDto> disks, DateTimeOffset now)
    {
        var width = disks.Select(d => d.Name.Length).DefaultIfEmpty(4).Max();
        var ordered = disks.OrderBy(d => d.Status == "in-use").ThenByDescending(d => d.LastUsedAt ?? d.CreatedAt).ToList();
        var choices = ordered.Select(d =>
        {
            var inUse = d.Status == "in-use";
            var note = inUse
                ? $"(in use by {(d.AttachedTo is { } r ? Format.ShortId(r) : "another reservation")})"
                : $"{DiskTable.Bytes(d.SizeBytes)}, {(d.LastUsedAt is { } u ? $"last used {Format.Relative(u, now)}" : "never used")}{(d.Status == "backing-up" ? ", backing up" : string.Empty)}";
            return new DiskChoice(inUse ? DiskChoiceKind.InUse : DiskChoiceKind.Disk, d, $"{d.Name.PadRight(width)}  {note}");
        }).ToList();
        choices.Add(new DiskChoice(DiskChoiceKind.Create, null, CreateDiskChoice));
        choices.Add(new DiskChoice(DiskChoiceKind.None, null, NoDiskChoice));
        return choices;
    }

    internal sealed record TypeChoice(GpuTypeDto Type, GpuAvailabilityDto? Availability, string Label);

    internal sealed record CountChoice(int Count, bool Multinode, string Label);

    /// <summary>The catalog's types with live counts, e.g. "h100      6/16 free  8×80 GB/GPU, …". Types with no nodes on
    /// this site are left out (all are shown when the server gave no availability, or none has nodes).</summary>
    internal static List<TypeChoice> TypeChoices(GpuTypesResponse catalog, AvailabilityResponse? availability)
    {
        var all = catalog.Types.Select(t => new TypeChoice(t, Find(availability, t), TypeLabel(catalog, t, availability))).ToList();
        var present = all.Where(c => c.Availability is { Nodes: > 0 }).ToList();
        return present.Count > 0 ? present : all;
    }

    /// <summary>The labels of <paramref name="shown"/> (the types the menu offers) with fresh counts.</summary>
    internal static IReadOnlyList<string> TypeLabels(GpuTypesResponse catalog, IReadOnlyList<GpuTypeDto> shown, AvailabilityResponse availability) =>
        shown.Select(t => TypeLabel(catalog, t, availability)).ToList();

    private static GpuAvailabilityDto? Find(AvailabilityResponse? availability, GpuTypeDto type) =>
        availability?.Types.FirstOrDefault(x => x.GpuType == type.Name);

    private static string TypeLabel(GpuTypesResponse catalog, GpuTypeDto t, AvailabilityResponse? availability)
    {
        var width = catalog.Types.Select(x => x.Name.Length).DefaultIfEmpty(4).Max();
        var a = Find(availability, t);
        var free = availability is null ? string.Empty
            : a is null || a.Nodes == 0 ? "no nodes here"
            : t.CpuOnly ? $"{I(a.Nodes)} node{(a.Nodes == 1 ? string.Empty : "s")}"
            : $"{I(a.Free)}/{I(a.Total)} free";
        var what = t.CpuOnly ? t.Description : $"{I(t.GpusPerNode)}×{I(t.MemoryGbPerGpu)} GB/GPU, {t.Description}";
        return availability is null ? $"{t.Name.PadRight(width)}  {what}" : $"{t.Name.PadRight(width)}  {free,-13}  {what}";
    }

    /// <summary>The server's availability, or null from a server without it (the menus then show no counts).</summary>
    private static async Task<AvailabilityResponse?> TryGetAvailabilityAsync(GpuDevClient client, CancellationToken ct)
    {
        try
        {
            return await client.GetAvailabilityAsync(ct).ConfigureAwait(false);
        }
        catch (CliException ex) when (ex.ExitCode == ExitCodes.Failure)
        {
            return null;
        }
    }

    /// <summary>Allowed counts that fit on one node ("4  (free now)", or one that waits: "8  (queues; starts in 2h 5m
    /// (16:05) or sooner)"), then multiples of a full node up to the site's total, which need --distributed
    /// ("16  (2 nodes, distributed)").</summary>
    internal static List<CountChoice> CountChoices(GpuTypesResponse catalog, GpuTypeDto type, GpuAvailabilityDto? avail, bool distributedHint, DateTimeOffset now)
    {
        var perNode = Math.Max(type.GpusPerNode, 1);
        var total = avail is { Total: > 0 } ? avail.Total : int.MaxValue;
        var choices = new List<CountChoice>();
        foreach (var c in catalog.AllowedGpuCounts.Where(c => c <= perNode && c <= total))
        {
            var note = avail is null ? string.Empty : c <= avail.LargestFreeBlock ? "  (free now)" : $"  ({QueueNote(avail, now)})";
            choices.Add(new CountChoice(c, false, I(c) + note));
        }

        foreach (var c in catalog.AllowedGpuCounts.Where(c => c > perNode && c % perNode == 0 && c <= total))
        {
            choices.Add(new CountChoice(c, true, $"{I(c)}  ({I(c / perNode)} nodes, distributed)"));
        }

        // With --distributed the multinode sizes come first.
        return distributedHint ? [.. choices.Where(c => c.Multinode), .. choices.Where(c => !c.Multinode)] : choices;
    }

    /// <summary>Until when a single-node count that does not fit now waits: a whole node of the type is free at
    /// <see cref="GpuAvailabilityDto.FullNodeFreeAt"/> (as the reservations holding GPUs stand now), so with nobody
    /// waiting the request starts then or sooner; with requests waiting, they go first.</summary>
    internal static string QueueNote(GpuAvailabilityDto avail, DateTimeOffset now)
    {
        if (avail.FullNodeFreeAt is not { } at || at <= now)
        {
            return "queues";
        }

        return avail.Queued == 0
            ? $"queues; starts {Format.Upcoming(at, now)} or sooner"
            : $"queues behind {I(avail.Queued)} waiting; a node frees {Format.Upcoming(at, now)}";
    }

    private static string I(int value) => value.ToString(CultureInfo.InvariantCulture);

    /// <summary>Polls until the reservation is active or ended: every 100 ms for the first 5 s (a local
    /// environment is ready in about 250 ms), then every <see cref="CliServices.PollInterval"/>.</summary>
    private async Task<ReservationDto> PollUntilDoneAsync(GpuDevClient client, ReservationDto reservation, Action<ReservationDto> onUpdate, CancellationToken ct)
    {
        var fast = TimeSpan.FromMilliseconds(100) < Services.PollInterval ? TimeSpan.FromMilliseconds(100) : Services.PollInterval;
        var current = reservation;
        for (var polls = 0; !IsDone(current.Status); polls++)
        {
            await Task.Delay(polls < 50 ? fast : Services.PollInterval, Services.Time, ct).ConfigureAwait(false);
            current = await client.GetReservationAsync(current.Id, ct).ConfigureAwait(false);
            onUpdate(current);
        }

        return current;
    }

    private async Task<ReservationDto> WaitAsync(GpuDevClient client, ReservationDto reservation, CancellationToken ct)
    {
        var console = Services.Console;
        var id8 = Format.ShortId(reservation.Id);
        if (IsDone(reservation.Status))
        {
            return reservation;
        }

        if (console.IsErrorTty && console.IsOutputTty)
        {
            return await console.ErrorConsole.Status()
                .Spinner(Spinner.Known.Dots)
                .StartAsync(StatusText(reservation), async ctx =>
                {
                    return await PollUntilDoneAsync(client, reservation, current => ctx.Status(StatusText(current)), ct).ConfigureAwait(false);
                }).ConfigureAwait(false);
        }

        var last = Format.StatusLine(reservation, Services.Time.GetUtcNow());
        var r = await PollUntilDoneAsync(client, reservation, current =>
        {
            var line = Format.StatusLine(current, Services.Time.GetUtcNow());
            if (line != last)
            {
                console.Error.WriteLine($"reservation {id8}: {line}");
                last = line;
            }
        }, ct).ConfigureAwait(false);

        return r;

        string StatusText(ReservationDto current) =>
            Markup.Escape($"Reservation {id8}: {Format.StatusLine(current, Services.Time.GetUtcNow(), relative: true)} (Ctrl+C stops waiting)");
    }

    private static bool IsDone(string status) => status == "active" || Format.IsTerminal(status);
}
