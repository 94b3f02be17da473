/**
 * 简体中文目录（续）：命令行帮助（`lvs-lab --help`、`lvs-lab start --help`）。与 en-help.ts
 * 逐键对应。命令名、选项名和参数名保持原样。
 */
export const zhCNHelp = {
  help: {
    builtin: {
      usage: "用法：",
      arguments: "参数：",
      options: "选项：",
      globalOptions: "全局选项：",
      commands: "命令：",
      help: "显示命令的帮助",
      version: "显示版本号",
      default: "（默认：{{value}}）",
    },
    parse: {
      unknownCommand: "未知命令 '{{name}}'。",
      didYouMean: "你是不是想用 {{names}}？",
      unknownOption: "未知选项 '{{flag}}'。",
      missingArgument: "缺少必需的参数 '{{name}}'。",
      optionMissingArgument: "选项 '{{flags}}' 缺少取值。",
      missingMandatory: "没有给出必需的选项 '{{flags}}'。",
      excessArguments: "'{{command}}' 的参数太多：给了 {{got}} 个，只需要 {{expected}} 个。",
    },
    completion: {
      about: "输出 shell 补全脚本：命令、选项、实验名和实例名（bash、zsh 或 fish）",
      install: "bash：lvs-lab completion bash > /etc/bash_completion.d/lvs-lab   zsh：lvs-lab completion zsh > \"${fpath[1]}/_lvs-lab\"   fish：lvs-lab completion fish > ~/.config/fish/completions/lvs-lab.fish",
      badShell: "只有 bash、zsh 和 fish 的补全脚本，没有 {{shell}} 的。",
    },
    program: {
      about: "在容器中动手学习 Linux IP 负载均衡：iptables DNAT、LVS-NAT/DR/TUN、keepalived",
      debug: "显示内部错误的调用栈",
      engine: "要使用的 Docker 引擎（unix:///路径、tcp://主机:端口、ssh://用户@主机），同 DOCKER_HOST",
      context: "使用该 Docker 上下文的引擎，同 DOCKER_CONTEXT",
      afterError: "（运行 `lvs-lab --help` 查看所有命令）",
    },
    bundle: {
      about: "一个文件装下没有互联网的教室所需的一切（软件包、实验镜像、虚拟机）",
    },
    bundleCreate: {
      about: "写出离线包：带依赖的 npm 包、实验镜像，以及（加 --with-vm 时）虚拟机",
      withVm: "加入虚拟机的内核、initramfs 和准备好的数据盘（事先运行一次 `lvs-lab vm up`）",
    },
    bundleInstall: {
      about: "安装离线包：软件包装到 PREFIX 下，实验镜像载入引擎，虚拟机放进缓存；然后运行 doctor",
      prefix: "lib/lvs-lab 和 bin/lvs-lab 的安装位置",
    },
    check: {
      about: "检查当前步骤，以及实验状态已经证明完成的后续各步（退出码 0 通过，1 未通过，2 环境问题）",
      step: "只检查第 n 步",
      all: "检查每一步并报告各步的结论",
      json: "机器可读的输出（格式稳定，见 README）",
      watch: "每 2 秒重新检查一次，直到这一步通过",
    },
    option: {
      name: "实例名",
      json: "机器可读的输出",
      lang: "输出所用的语言",
    },
    class: {
      about: "课堂工作坊：讲师查看的课堂服务器，学员的实验向它报告进度",
    },
    classServe: {
      about: "在前台运行课堂服务器（课堂保存在事件日志中：重启后继续）",
      port: "TCP 端口",
      bind: "监听的地址",
      title: "课堂的标题",
      stuckMinutes: "学员在同样的未通过检查上停留这么多分钟后，标记为卡住",
      new: "开始一个新课堂（上一个课堂的日志另外保存）",
      json: "只输出一行 JSON {url, joinCode, instructorToken}",
      bundle: "在 GET /api/bundle 向持有加入码的学员提供这个离线包（`lvs-lab bundle create`）",
      lang: "输出、网页和实验标题所用的语言",
    },
    classJoin: {
      about: "加入课堂：你的实验命令会向它报告进度（绝不会报告你的终端或命令）",
      code: "讲师给出的加入码",
      as: "你在课堂中的名字",
    },
    classLeave: {
      about: "退出课堂：实验命令不再报告进度",
    },
    classStatus: {
      about: "你加入的课堂，以及尚未送达的事件",
    },
    classWatch: {
      about: "讲师在终端中的实时表格（学员 × 步骤，卡住和回退的标记）",
      token: "讲师令牌（默认：本机运行的课堂服务器的令牌）",
    },
    classCatchUp: {
      about: "提议把落后学员的实验带到某一步的开始（由学员接受；未经他们同意什么都不会执行）",
      step: "要带到的步骤",
      learner: "只针对这位学员（默认：这个实验中所有落后的人）",
      lab: "实验（默认：大多数学员所在的实验）",
      url: "课堂服务器（默认：本机运行的那个）",
      token: "讲师令牌",
    },
    classSay: {
      about: "发给全班（或一位学员）的消息，在他们下次检查时和界面中显示",
      learner: "只发给这位学员",
      url: "课堂服务器（默认：本机运行的那个）",
      token: "讲师令牌",
    },
    classExport: {
      about: "以 CSV 导出课堂（每位学员每个实验一行）",
      out: "写入文件，而不是标准输出",
      url: "课堂服务器（默认：本机运行的那个）",
      token: "讲师令牌",
    },
    classProvision: {
      about: "为每位学员启动一个实验实例（名字为 prefix-01 … 或来自名单文件），彼此之间、与主机之间相互隔离",
      lab: "每位学员得到的实验",
      count: "学员人数（名字为 <prefix>-01 …）",
      prefix: "与 --count 一起使用的名字前缀",
      roster: "实例名，每行一个，代替 --count",
      parallel: "同时启动的个数",
      vm: "在 lvs-lab 虚拟机中",
    },
    doctor: {
      about: "检查引擎、实验镜像、内核（ip_vs、ipip）和地址",
      fix: "安装并启动引擎，构建镜像；引擎内核里有 ip_vs、ipip 模块但未加载时加载它们，内核没有它们时安装 QEMU（Debian/Ubuntu，需要 root）",
      vm: "检查 lvs-lab 虚拟机的引擎",
      lang: "报告所用的语言",
    },
    image: {
      about: "构建、保存或载入实验镜像",
    },
    imageBuild: {
      about: "构建实验镜像（基于 debian:bookworm-slim；无法访问镜像仓库时基于 debootstrap）",
      base: "作为 FROM 的基础镜像",
      force: "即使镜像已存在也重新构建",
      vm: "在 lvs-lab 虚拟机的引擎中构建",
    },
    imageSave: {
      about: "把实验镜像写入 tar 文件（供没有网络的教室使用）",
    },
    imageLoad: {
      about: "载入用 `image save` 保存的实验镜像",
      vm: "载入 lvs-lab 虚拟机的引擎",
    },
    lint: {
      about: "检查每个课程、每份翻译（labs/<lang>/）和消息目录（有问题时退出码为 1）",
    },
    list: {
      about: "列出所有实验",
    },
    predict: {
      about: "在测量之前回答当前步骤的预测题（不给选项时显示题目）",
      step: "第 n 步的预测题",
    },
    reset: {
      about: "把实验恢复到当前步骤的开始（重建容器，重新执行前面各步）",
      step: "恢复到第 n 步的开始",
    },
    selftest: {
      about: "证明实验：每一步在执行答案前不通过，执行答案后以及每个变体之后通过，每个错误示范之后以预期的说法不通过（全部证明时退出码为 0）",
      vm: "在 lvs-lab 虚拟机中运行每个实验",
      noVm: "绝不使用虚拟机：本机内核无法运行的实验列为未运行",
      lang: "证明这种语言的课程",
    },
    shell: {
      about: "在节点上打开交互式 shell",
    },
    exec: {
      about: "在节点上运行一条命令：lvs-lab exec rs1 -- ip route",
    },
    solve: {
      about: "执行当前步骤的参考答案（或 --step N，或 --all）",
      step: "执行第 n 步的答案",
      all: "执行从当前步骤到最后每一步的答案",
      to: "把实验带到第 n 步的开始：前面每个尚未通过的步骤都执行其答案",
    },
    start: {
      about: "创建实验的容器和网络并显示课程（实验已在运行时重新连上）",
      name: "实例名（默认：实验的 id），用来同时运行多个实例",
      vm: "在 lvs-lab 的虚拟机（内核带 ip_vs 和 ipip）中运行，即使本机内核也有它们",
      noVm: "绝不使用虚拟机：本机内核无法运行的实验会被拒绝（退出码 2）",
      yes: "引擎的内核里有实验所需的内核模块但还没有加载时，不经询问直接加载",
      lang: "课程语言（默认：取自区域设置）",
      restart: "忘掉保存的进度，从第 1 步开始（正在运行的实例会被重置）",
      noUi: "纯文本输出，不用终端界面",
    },
    status: {
      about: "列出正在运行的实验实例（本机引擎和虚拟机中的）",
    },
    stop: {
      about: "删除实验实例的容器和网络（--all：每个实例，包括虚拟机中的）",
      all: "停止每个 lvs-lab 实例，包括崩溃后的残留",
    },
    vm: {
      about: "一台 QEMU 虚拟机，运行 Debian 自带的内核（ip_vs、ipip）和它自己的 Docker 引擎，供 LVS 实验使用",
    },
    vmUp: {
      about: "构建（仅第一次）并启动虚拟机，把实验镜像载入它的引擎；打印它的 DOCKER_HOST（实验需要时 `start` 会自动做这些）",
      image: "在虚拟机中提供的实验镜像（默认：当前的实验镜像）",
    },
    vmDown: {
      about: "停止虚拟机（其中的容器会被丢弃）",
    },
    vmStatus: {
      about: "虚拟机是否在运行、它的引擎在哪里、是否已构建",
    },
  },
};
