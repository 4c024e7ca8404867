using System.CommandLine;
using System.CommandLine.Parsing;
using System.ComponentModel;
using System.Diagnostics;
using GpuDev.Cli.Output;
using GpuDev.Contracts;

namespace GpuDev.Cli.Commands;

/// <summary><c>gpu-dev connect [ID] [-- COMMAND...]</c>: ssh into an active reservation, pinning its host key.</summary>
internal sealed class ConnectCommand : CliCommand
{
    private readonly Argument<string> _id = CommonOptions.ReservationId("Reservation ID or unique prefix; default: your active reservation");
    private readonly Argument<string[]> _command = new("COMMAND") { Arity = ArgumentArity.ZeroOrMore, Description = "Command to run remotely (after --)" };
    private readonly Option<int?> _node = new("--node")
    {
        HelpName = "RANK",
        Description = "Multinode reservations: the rank of the node to connect to (default 0; on a terminal you pick)",
        CustomParser = CliNumbers.Count("a rank of the reservation: 0, 1, ... (gpu-dev show lists them)"),
    };

    public ConnectCommand(CliServices services)
        : base(services, "connect", "Open an SSH session to an active reservation.")
    {
        Arguments.Add(_id);
        Arguments.Add(_command);
        Options.Add(_node);
        Examples.Add("gpu-dev connect");
        Examples.Add("gpu-dev connect 1a2b3c4d");
        Examples.Add("gpu-dev connect 1a2b -- nvidia-smi");
        Examples.Add("gpu-dev connect 1a2b --node 1");
    }

    public override async Task<int> ExecuteAsync(ParseResult parseResult, CancellationToken cancellationToken)
    {
        var (id, remote) = SplitArguments(parseResult);
        var client = Services.CreateClient();
        ReservationDto reservation;
        if (id is null)
        {
            var mine = await client.ListReservationsAsync(null, null, false, cancellationToken).ConfigureAwait(false);
            var active = mine.Where(r => r.Status == "active").ToList();
            if (active.Count == 0)
            {
                var waiting = mine.FirstOrDefault();
                throw waiting is null
                    ? new CliException(ExitCodes.Failure, "you have no active reservation", "make one with `gpu-dev reserve`")
                    : new CliException(ExitCodes.Failure, $"you have no active reservation; {Format.ShortId(waiting.Id)} is {waiting.Status}",
                        $"check it with `gpu-dev show {Format.ShortId(waiting.Id)}`");
            }

            if (active.Count == 1)
            {
                reservation = active[0];
            }
            else if (Services.CanPrompt)
            {
                var labels = active.Select(Label).ToList();
                reservation = active[Services.Console.Select("Connect to which reservation?", labels, cancellationToken)];
            }
            else
            {
                throw CliException.Usage($"you have {active.Count} active reservations; name one: {string.Join(", ", active.Select(r => Format.ShortId(r.Id)))}",
                    "e.g. `gpu-dev connect " + Format.ShortId(active[0].Id) + "`");
            }
        }
        else
        {
            reservation = await client.GetReservationAsync(id, cancellationToken).ConfigureAwait(false);
        }

        var id8 = Format.ShortId(reservation.Id);
        if (reservation.Status != "active")
        {
            throw new CliException(ExitCodes.Failure, $"reservation {id8} is {reservation.Status}, not active",
                Format.IsTerminal(reservation.Status) ? "make a new one with `gpu-dev reserve`" : $"check it with `gpu-dev show {id8}`");
        }

        var ssh = PickNode(reservation, parseResult.GetValue(_node), cancellationToken);
        var args = BuildSshArguments(ssh, reservation, remote);
        var program = Services.Environment.GetVariable(EnvVars.Ssh) ?? "ssh";
        if (Services.Debug)
        {
            Services.Console.Error.WriteLine($"+ {program} {string.Join(' ', args)}");
        }

        var start = new ProcessStartInfo(program) { UseShellExecute = false };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        Process process;
        try
        {
            process = Process.Start(start) ?? throw new CliException(ExitCodes.Failure, $"cannot run {program}");
        }
        catch (Win32Exception ex)
        {
            throw new CliException(ExitCodes.Failure, $"cannot run {program}: {ex.Message}",
                "install an OpenSSH client, or point GPU_DEV_SSH at one", ex);
        }

        using (process)
        {
            // Ctrl+C goes to ssh (same terminal); we only wait for it to end.
            await process.WaitForExitAsync(CancellationToken.None).ConfigureAwait(false);
            return process.ExitCode;
        }
    }

    /// <summary>The SSH endpoint to use: rank <paramref name="rank"/> of a multinode reservation (on a terminal without
    /// --node, the user picks; otherwise rank 0), or the reservation's one endpoint.</summary>
    private SshInfoDto PickNode(ReservationDto reservation, int? rank, CancellationToken cancellationToken)
    {
        var id8 = Format.ShortId(reservation.Id);
        var nodes = reservation.Nodes.OrderBy(n => n.Rank).ToList();
        if (rank is { } wanted && nodes.Count > 0 && !nodes.Any(n => n.Rank == wanted))
        {
            throw new CliException(ExitCodes.Failure,
                $"reservation {id8} has no node of rank {wanted}; valid ranks: {string.Join(", ", nodes.Select(n => n.Rank))}");
        }

        if (rank is { } r0 && nodes.Count == 0 && r0 != 0)
        {
            throw new CliException(ExitCodes.Failure, $"reservation {id8} has no node of rank {r0}; valid ranks: 0");
        }

        if (Format.IsMultinode(reservation) && nodes.Count > 0)
        {
            var node = rank is { } n ? nodes.First(x => x.Rank == n)
                : Services.CanPrompt ? PromptNode(nodes, cancellationToken)
                : nodes[0];
            return SshFor(reservation, node)
                ?? throw new CliException(ExitCodes.Failure, $"rank {node.Rank} of reservation {id8} ({node.Node}) has no SSH endpoint yet",
                    $"check it with `gpu-dev show {id8}`");
        }

        return reservation.Ssh ?? nodes.Select(n => n.Ssh).FirstOrDefault(s => s is not null)
            ?? throw new CliException(ExitCodes.Failure, $"reservation {id8} has no SSH endpoint yet", $"check it with `gpu-dev show {id8}`");
    }

    private NodeAllocationDto PromptNode(List<NodeAllocationDto> nodes, CancellationToken cancellationToken)
    {
        // Rank 0 first: it is the selection prompt's default.
        var labels = nodes.Select(ReservationView.NodeLine).ToList();
        return nodes[Services.Console.Select("Connect to which node?", labels, cancellationToken)];
    }

    private static SshInfoDto? SshFor(ReservationDto reservation, NodeAllocationDto node) =>
        node.Ssh ?? (node.Rank == 0 ? reservation.Ssh : null);

    /// <summary>ssh arguments. Refreshes ~/.gpu-dev/ID-sshconfig and ID.known_hosts (the host key of every node the
    /// server told us about: each rank of a multinode reservation has its own sshd) and pins it with
    /// StrictHostKeyChecking=yes, so ssh refuses a changed host key.</summary>
    internal List<string> BuildSshArguments(SshInfoDto ssh, ReservationDto reservation, IReadOnlyList<string> remote)
    {
        if ((Ssh.ServerValues.Problem(ssh) ?? Ssh.ServerValues.Problem(reservation)) is { } problem)
        {
            throw new CliException(ExitCodes.Failure, problem, "is GPU_DEV_SERVER the gpu-dev server you meant? ssh was not started.");
        }

        var args = new List<string> { "-p", ssh.Port.ToString(System.Globalization.CultureInfo.InvariantCulture) };
        string? knownHosts = null;
        if (!string.IsNullOrWhiteSpace(ssh.HostKey))
        {
            try
            {
                knownHosts = Services.SshFiles.Write(reservation);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                throw new CliException(ExitCodes.Failure, $"cannot write the reservation's known_hosts file in {Services.SshFiles.Directory}: {ex.Message}",
                    "check the directory's permissions (or set GPU_DEV_HOME)", ex);
            }
        }
        else
        {
            Services.SshFiles.Sync(reservation, Services.Console.Error);
        }

        if (knownHosts is not null)
        {
            args.AddRange(["-o", $"UserKnownHostsFile={knownHosts}", "-o", "StrictHostKeyChecking=yes"]);
        }
        else
        {
            args.AddRange(["-o", "StrictHostKeyChecking=accept-new"]);
        }

        args.Add($"{ssh.User}@{ssh.Host}");
        args.AddRange(remote);
        return args;
    }

    private (string? Id, List<string> Remote) SplitArguments(ParseResult parseResult)
    {
        var tokens = parseResult.Tokens;
        var doubleDash = -1;
        for (var i = 0; i < tokens.Count; i++)
        {
            if (tokens[i].Type == TokenType.DoubleDash)
            {
                doubleDash = i;
                break;
            }
        }

        var before = new List<string>();
        for (var i = 0; i < (doubleDash < 0 ? tokens.Count : doubleDash); i++)
        {
            if (tokens[i].Type == TokenType.Option && (tokens[i].Value == _node.Name || _node.Aliases.Contains(tokens[i].Value)))
            {
                i++; // --node's value
            }
            else if (tokens[i].Type == TokenType.Argument)
            {
                before.Add(tokens[i].Value);
            }
        }

        var after = doubleDash < 0 ? [] : tokens.Skip(doubleDash + 1).Select(t => t.Value).ToList();
        if (before.Count > 1)
        {
            after.InsertRange(0, before.Skip(1));
        }

        return (before.Count > 0 ? before[0] : null, after);
    }

    private static string Label(ReservationDto r) =>
        $"{Format.ShortId(r.Id)}  {r.Name ?? "-"}  {Format.Gpus(r)}  {r.Status}";
}
