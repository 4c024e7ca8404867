using GpuDev.Cli.Client;
using GpuDev.Cli.Output;
using GpuDev.Contracts;
using Spectre.Console;

namespace GpuDev.Cli.Commands.Reserve;

/// <summary>Follows a new reservation until it is ready (active) or has ended (failed, cancelled, expired): a spinner
/// when both streams are terminals, else one stderr line per change of status. Cancelling the token stops the waiting, never the reservation.</summary>
internal sealed class ReservationWaiter(CliServices services)
{
    public async Task<ReservationDto> WaitAsync(GpuDevClient client, ReservationDto reservation, CancellationToken ct)
    {
        var console = services.Console;
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

        var last = Format.StatusLine(reservation, services.Time.GetUtcNow());
        var r = await PollUntilDoneAsync(client, reservation, current =>
        {
            var line = Format.StatusLine(current, services.Time.GetUtcNow());
            if (line != last)
            {
                console.Error.WriteLine($"reservation {id8}: {line}");
                last = line;
            }
        }, ct).ConfigureAwait(false);

        return r;

        string StatusText(ReservationDto current) =>
            Markup.Escape($"Reservation {id8}: {Format.StatusLine(current, services.Time.GetUtcNow(), relative: true)} (Ctrl+C stops waiting)");
    }

    /// <summary>Polls until the reservation is active or ended: every 100 ms for the first 5 s (a local
    /// environment is ready in about 250 ms), then every <see cref="CliServices.PollInterval"/>.</summary>
    private async Task<ReservationDto> PollUntilDoneAsync(GpuDevClient client, ReservationDto reservation, Action<ReservationDto> onUpdate, CancellationToken ct)
    {
        var fast = TimeSpan.FromMilliseconds(100) < services.PollInterval ? TimeSpan.FromMilliseconds(100) : services.PollInterval;
        var current = reservation;
        for (var polls = 0; !IsDone(current.Status); polls++)
        {
            await Task.Delay(polls < 50 ? fast : services.PollInterval, services.Time, ct).ConfigureAwait(false);
            current = await client.GetReservationAsync(current.Id, ct).ConfigureAwait(false);
            onUpdate(current);
        }

        return current;
    }

    private static bool IsDone(string status) => status == "active" || Format.IsTerminal(status);
}
