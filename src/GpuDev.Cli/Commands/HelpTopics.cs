namespace GpuDev.Cli.Commands;

/// <summary>Texts of <c>gpu-dev help exit-codes</c>, <c>gpu-dev help environment</c> and <c>gpu-dev help gpu-hours</c>.</summary>
internal static class HelpTopics
{
    public const string ExitCodes = """
        Exit codes of gpu-dev:

          0  success, including "no reservations found" (the message goes to stderr, on a TTY only)
          1  any failure, including usage errors
          2  cancelled: Ctrl+C, Esc or q at a menu, Esc at a question, or a declined confirmation
             (at a prompt nothing was changed; a reservation being made keeps going: check it
             with `gpu-dev show ID`)
          4  not authenticated or forbidden, including a sign-in that was denied (sign in with
             `gpu-dev login`, or set a token with `gpu-dev config set token TOKEN`)
        """;

    public const string Environment = """
        Environment variables read by gpu-dev:

          GPU_DEV_SERVER      server URL; overrides `server` in the config file
                              (default http://127.0.0.1:8484)
          GPU_DEV_TOKEN       API token; overrides `token` in the config file
          GPU_DEV_CONFIG_DIR  directory of config.json; default $XDG_CONFIG_HOME/gpu-dev,
                              else ~/.config/gpu-dev
          GPU_DEV_DEBUG       set to 1 to print HTTP traffic and stack traces to stderr
          GPU_DEV_INSECURE    set to 1 to send the token over plain http:// to a server on
                              another machine; overrides `insecure` in the config file
          GPU_DEV_SSH         the ssh program `gpu-dev connect` runs (default: ssh on PATH)
          GPU_DEV_HOME        directory of the per-reservation ssh config and known_hosts
                              files (default ~/.gpu-dev)
          NO_COLOR            set to anything to turn colour off
          CLICOLOR            set to 0 to turn colour off; CLICOLOR_FORCE=1 forces it on
          CI                  when set, gpu-dev never prompts
          DISPLAY, WAYLAND_DISPLAY
                              either set (and SSH_CONNECTION unset): `gpu-dev login` opens
                              the sign-in page in your browser (xdg-open; open on macOS)
          AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_PROFILE, ...
                              the AWS credentials `gpu-dev login --aws` signs with, read as the
                              AWS CLI reads them (also ~/.aws/credentials and ~/.aws/config)

        Precedence: command-line flag, then environment, then the config file, then the default.
        """;

    /// <summary>What <c>gpu-dev usage</c> counts; also printed by <c>gpu-dev usage --help</c>.</summary>
    public const string GpuHours = """
        GPU-hours in `gpu-dev usage`:

          window     from --since (default: 7 days ago) to now, on the server's clock
          counted    every reservation that existed in the window: still live (pending,
                     queued, preparing, active) or ended after the window's start
          used       GPUs × the time the reservation held them, from when it became
                     active to when it ended (or to now while active), the part inside
                     the window; an expired one ends when the server expires it, up to
                     its expiry grace (Server:ExpiryGrace, 30 s) after its end time
          booked     GPUs × its booked term (the hours asked for plus the extension,
                     from when it became active), the part after the window's start,
                     including the hours still ahead of an active reservation
          USED %     used / booked: under 100 while a reservation runs or when it was
                     cancelled early
          A reservation that never became active (still waiting, or cancelled or failed
          before it was ready) is counted with 0 booked and 0 used. Both numbers clip at
          the window's start the same way, so a reservation that began before it counts
          only its part after it.
        """;

    public static readonly IReadOnlyDictionary<string, string> All = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["exit-codes"] = ExitCodes,
        ["environment"] = Environment,
        ["gpu-hours"] = GpuHours,
    };
}
