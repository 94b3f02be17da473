/**
 * The English catalogue, continued: the command-line help (`lvs-lab --help`, `lvs-lab start
 * --help`): each command's description and its options', and commander's own words
 * (builtin). Keys are command paths (classServe is `class serve`); option is shared. Part of
 * `en` (through en-tools.ts).
 */
export const enHelp = {
  help: {
    builtin: {
      usage: "Usage:",
      arguments: "Arguments:",
      options: "Options:",
      globalOptions: "Global Options:",
      commands: "Commands:",
      help: "display help for command",
      version: "output the version number",
      default: "(default: {{value}})",
    },
    parse: {
      unknownCommand: "unknown command '{{name}}'.",
      didYouMean: " Did you mean {{names}}?",
      unknownOption: "unknown option '{{flag}}'.",
      missingArgument: "missing required argument '{{name}}'.",
      optionMissingArgument: "option '{{flags}}' needs a value.",
      missingMandatory: "required option '{{flags}}' not given.",
      excessArguments: "too many arguments for '{{command}}': {{got}} given, {{expected}} expected.",
    },
    completion: {
      about: "print a shell completion script: commands, options, lab and instance names (bash, zsh or fish)",
      install: "bash: lvs-lab completion bash > /etc/bash_completion.d/lvs-lab   zsh: lvs-lab completion zsh > \"${fpath[1]}/_lvs-lab\"   fish: lvs-lab completion fish > ~/.config/fish/completions/lvs-lab.fish",
      badShell: "Completion scripts exist for bash, zsh and fish, not {{shell}}.",
    },
    program: {
      about: "Hands-on Linux IP load balancing in containers: iptables DNAT, LVS-NAT/DR/TUN, keepalived",
      debug: "show stack traces of internal errors",
      engine: "the Docker engine to use (unix:///PATH, tcp://HOST:PORT, ssh://USER@HOST), as DOCKER_HOST",
      context: "the Docker context whose engine to use, as DOCKER_CONTEXT",
      afterError: "(run `lvs-lab --help` for the commands)",
    },
    bundle: {
      about: "one file with everything for a classroom without internet (package, lab image, VM)",
    },
    bundleCreate: {
      about: "write the offline bundle: the npm package with its dependencies, the lab image and, with --with-vm, the VM",
      withVm: "add the VM's kernel, initramfs and prepared data disk (run `lvs-lab vm up` once before)",
    },
    bundleInstall: {
      about: "install a bundle: the package under PREFIX, the lab image into the engine, the VM into the cache; then run doctor",
      prefix: "where lib/lvs-lab and bin/lvs-lab go",
    },
    check: {
      about: "check the current step and every following step the lab's state already proves (exit 0 pass, 1 fail, 2 environment problem)",
      step: "check only step n",
      all: "check every step and report each verdict",
      json: "machine-readable output (stable, see README)",
      watch: "re-check every 2 s until the step passes",
    },
    option: {
      name: "instance name",
      json: "machine-readable output",
      lang: "the language of the output",
    },
    class: {
      about: "classroom workshops: a class server the instructor watches, learners' labs reporting to it",
    },
    classServe: {
      about: "run the class server in the foreground (the class is kept in an event log: a restart resumes it)",
      port: "TCP port",
      bind: "address to listen on",
      title: "the class's title",
      stuckMinutes: "flag a learner as stuck after this many minutes on the same failing probes",
      new: "start a new class (the previous one's log is kept aside)",
      json: "print one JSON line {url, joinCode, instructorToken} and nothing else",
      bundle: "offer this offline bundle (`lvs-lab bundle create`) to learners holding the join code, at GET /api/bundle",
      lang: "the language of the output, the web page and the labs' titles",
    },
    classJoin: {
      about: "join a class: your lab commands report progress to it (never your shell or commands)",
      code: "the join code the instructor shows",
      as: "your name in the class",
    },
    classLeave: {
      about: "leave the class: lab commands stop reporting",
    },
    classStatus: {
      about: "the class you joined, and events not yet delivered",
    },
    classWatch: {
      about: "the instructor's live grid in the terminal (learners × steps, stuck and regressed flags)",
      token: "the instructor token (default: the class server running here)",
    },
    classCatchUp: {
      about: "offer learners behind to bring their lab to the start of a step (they accept; nothing runs without them)",
      step: "the step to bring them to",
      learner: "only this learner (default: everyone on the lab who is behind)",
      lab: "the lab (default: the one most learners are on)",
      url: "the class server (default: the one running here)",
      token: "the instructor token",
    },
    classSay: {
      about: "a message to the class (or one learner), shown at their next check and in their UI",
      learner: "only this learner",
      url: "the class server (default: the one running here)",
      token: "the instructor token",
    },
    classExport: {
      about: "the class as CSV (one row per learner and lab)",
      out: "write to a file instead of standard output",
      url: "the class server (default: the one running here)",
      token: "the instructor token",
    },
    classProvision: {
      about: "start one instance of a lab per learner (names prefix-01 … or a roster file), each isolated from the others and the host",
      lab: "the lab every learner gets",
      count: "how many learners (names <prefix>-01 …)",
      prefix: "name prefix with --count",
      roster: "instance names, one a line, instead of --count",
      parallel: "starts at a time",
      vm: "in the lvs-lab VM",
    },
    doctor: {
      about: "check the engine, the lab image, the kernel (ip_vs, ipip) and addresses",
      fix: "install and start the engine, build the image, load ip_vs and ipip where the engine's kernel has them as modules not loaded, and where it lacks them install QEMU (Debian/Ubuntu, root)",
      vm: "check the lvs-lab VM's engine",
      lang: "the language of the report",
    },
    image: {
      about: "build, save or load the lab image",
    },
    imageBuild: {
      about: "build the lab image (from debian:bookworm-slim, or a debootstrap base where no registry is reachable)",
      base: "base image to build FROM",
      force: "rebuild even if the image exists",
      vm: "build in the lvs-lab VM's engine",
    },
    imageSave: {
      about: "write the lab image to a tar file (for classrooms without network)",
    },
    imageLoad: {
      about: "load a lab image saved with `image save`",
      vm: "load into the lvs-lab VM's engine",
    },
    lint: {
      about: "check every lesson, every translation (labs/<lang>/) and the message catalogues (exit 1 on a problem)",
    },
    list: {
      about: "list the labs",
    },
    predict: {
      about: "answer the current step's prediction before you measure (without a choice: show the question)",
      step: "the prediction of step n",
    },
    reset: {
      about: "put the lab back to the start of the current step (fresh containers, earlier steps re-applied)",
      step: "reset to the start of step n",
    },
    selftest: {
      about: "prove labs: each step fails before its solution, passes after it and after every variant, and fails with the expected words after every mistake (exit 0 all proved)",
      vm: "run every lab in the lvs-lab VM",
      noVm: "never use the VM: labs this kernel cannot run are listed as not run",
      lang: "prove the lesson in this language",
    },
    shell: {
      about: "open an interactive shell on a node",
    },
    exec: {
      about: "run one command on a node: lvs-lab exec rs1 -- ip route",
    },
    solve: {
      about: "apply the reference solution of the current step (or --step N, or --all)",
      step: "solve step n",
      all: "solve every step from the current one to the end",
      to: "bring the lab to the start of step n: each earlier step that does not pass gets its solution",
    },
    start: {
      about: "create a lab's containers and networks and show the lesson (reattaches when it already runs)",
      name: "instance name (default: the lab's id), to run several side by side",
      vm: "run in lvs-lab's VM (a kernel with ip_vs and ipip) even where this kernel has them",
      noVm: "never use the VM: a lab this kernel cannot run is refused (exit 2)",
      yes: "load the kernel modules the lab needs without asking, where the engine's kernel has them but has not loaded them",
      lang: "lesson language (default: from the locale)",
      restart: "forget saved progress and start at step 1 (a running instance is reset)",
      noUi: "plain output instead of the terminal UI",
    },
    status: {
      about: "list running lab instances (on the local engine and the VM)",
    },
    stop: {
      about: "remove a lab instance's containers and networks (--all: every instance, in the VM too)",
      all: "stop every lvs-lab instance, leftovers of crashed runs included",
    },
    vm: {
      about: "a QEMU VM with Debian's stock kernel (ip_vs, ipip) and its own Docker engine, for the LVS labs",
    },
    vmUp: {
      about: "build (first time only), boot the VM and load the lab image into its engine; prints its DOCKER_HOST (`start` does this by itself when a lab needs it)",
      image: "lab image to make available in the VM (default: the current lab image)",
    },
    vmDown: {
      about: "stop the VM (containers inside it are discarded)",
    },
    vmStatus: {
      about: "is the VM running, where is its engine, is it built",
    },
  },
};
