<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="zh_CN">
<context>
    <name>Blocks</name>
    <message>
        <source>edits here change every instance of the block · Esc: back out</source>
        <translation>此处的修改会改变该模块的所有实例 · Esc:返回</translation>
    </message>
    <message>
        <source>&amp;Make Block…</source>
        <translation>创建模块(&amp;M)…</translation>
    </message>
    <message>
        <source>&amp;Ungroup</source>
        <translation>取消组合(&amp;U)</translation>
    </message>
    <message>
        <source>&amp;Edit Inside Block</source>
        <translation>编辑模块内部(&amp;E)</translation>
    </message>
    <message>
        <source>&amp;Back Out of Block</source>
        <translation>返回模块外(&amp;B)</translation>
    </message>
    <message>
        <source>Open &amp;Block Library…</source>
        <translation>打开模块库(&amp;B)…</translation>
    </message>
    <message>
        <source>Save Selection as Block to &amp;Library…</source>
        <translation>将所选保存为模块到库(&amp;L)…</translation>
    </message>
    <message>
        <source>Back out of the block first (Esc)</source>
        <translation>请先返回模块外(Esc)</translation>
    </message>
    <message>
        <source>Select one block instance to ungroup</source>
        <translation>请选择一个模块实例来取消组合</translation>
    </message>
    <message>
        <source>Open Block Library</source>
        <translation>打开模块库</translation>
    </message>
    <message>
        <source>Save Selection as Block to Library</source>
        <translation>将所选保存为模块到库</translation>
    </message>
    <message>
        <source>Block Library</source>
        <translation>模块库</translation>
    </message>
    <message>
        <source>Save Block</source>
        <translation>保存模块</translation>
    </message>
</context>
<context>
    <name>BundleDialog</name>
    <message>
        <source>Export a server bundle</source>
        <translation>导出服务器部署包</translation>
    </message>
    <message>
        <source>Choose the new folder</source>
        <translation>选择新文件夹</translation>
    </message>
    <message>
        <source>New folder</source>
        <translation>新文件夹</translation>
    </message>
    <message>
        <source>The model&apos;s name in the URLs (letters, digits, _ - .)</source>
        <translation>URL 中的模型名（字母、数字、_ - .）</translation>
    </message>
    <message>
        <source>Model name</source>
        <translation>模型名</translation>
    </message>
    <message>
        <source>Also an NVIDIA Triton model repository and a KServe InferenceService</source>
        <translation>同时生成 NVIDIA Triton 模型仓库和 KServe InferenceService</translation>
    </message>
    <message>
        <source>The bundle holds model.onnx (preprocessing inside), a small server (onnxruntime, FastAPI, uvicorn; no torch), requirements.txt, a Dockerfile and a README with the docker and curl lines.</source>
        <translation>部署包包含 model.onnx（已内置预处理）、一个小型服务器（onnxruntime、FastAPI、uvicorn；不需要 torch）、requirements.txt、Dockerfile，以及写有 docker 和 curl 命令的 README。</translation>
    </message>
    <message>
        <source>Write bundle</source>
        <translation>写出部署包</translation>
    </message>
    <message>
        <source>Bundle into</source>
        <translation>部署包位置</translation>
    </message>
    <message>
        <source>exporting (parity check) and writing the bundle…</source>
        <translation>正在导出（一致性校验）并写出部署包…</translation>
    </message>
    <message>
        <source>wrote %1</source>
        <translation>已写出 %1</translation>
    </message>
</context>
<context>
    <name>Canvas</name>
    <message>
        <source>Insert Node on Wire…</source>
        <translation>在连线上插入节点…</translation>
    </message>
    <message>
        <source>Delete Connection</source>
        <translation>删除连线</translation>
    </message>
    <message>
        <source>Fix: %1</source>
        <translation>修复：%1</translation>
    </message>
    <message>
        <source>Freeze</source>
        <translation>冻结</translation>
    </message>
    <message>
        <source>Unfreeze</source>
        <translation>解冻</translation>
    </message>
    <message>
        <source>%1 params</source>
        <translation>%1 参数</translation>
    </message>
    <message>
        <source>output: %1</source>
        <translation>输出：%1</translation>
    </message>
    <message>
        <source>parameters: %1</source>
        <translation>参数量：%1</translation>
    </message>
    <message>
        <source>MACs per sample: %1</source>
        <translation>每样本 MACs：%1</translation>
    </message>
    <message>
        <source>%1 samples</source>
        <translation>%1 个样本</translation>
    </message>
    <message>
        <source>%1 columns (%2 text)</source>
        <translation>%1 列（%2 列文本）</translation>
    </message>
    <message>
        <source>%1 classes</source>
        <translation>%1 个类别</translation>
    </message>
    <message>
        <source>regression</source>
        <translation>回归</translation>
    </message>
</context>
<context>
    <name>CompressDialog</name>
    <message>
        <source>Structured: whole channels/neurons, L1 norm</source>
        <translation>结构化：整个通道/神经元，L1 范数</translation>
    </message>
    <message>
        <source>Structured: whole channels/neurons, L2 norm</source>
        <translation>结构化：整个通道/神经元，L2 范数</translation>
    </message>
    <message>
        <source>Unstructured: smallest weights of each layer</source>
        <translation>非结构化：每层中最小的权重</translation>
    </message>
    <message>
        <source>Unstructured: smallest weights over all layers</source>
        <translation>非结构化：所有层中最小的权重</translation>
    </message>
    <message>
        <source>Variant</source>
        <translation>变体</translation>
    </message>
    <message>
        <source>Params</source>
        <translation>参数量</translation>
    </message>
    <message>
        <source>Non-zero</source>
        <translation>非零参数</translation>
    </message>
    <message>
        <source>File</source>
        <translation>文件</translation>
    </message>
    <message>
        <source>Batch 1 (ms)</source>
        <translation>批大小 1（毫秒）</translation>
    </message>
    <message>
        <source>Batch 32 (ms)</source>
        <translation>批大小 32（毫秒）</translation>
    </message>
    <message>
        <source>Metric</source>
        <translation>指标</translation>
    </message>
    <message>
        <source>Drop</source>
        <translation>下降</translation>
    </message>
    <message>
        <source>Agreement / error</source>
        <translation>一致率 / 误差</translation>
    </message>
    <message>
        <source>int8 dynamic</source>
        <translation>int8 动态</translation>
    </message>
    <message>
        <source>layer magnitude</source>
        <translation>逐层幅值</translation>
    </message>
    <message>
        <source>global magnitude</source>
        <translation>全局幅值</translation>
    </message>
    <message>
        <source>L%1 channels</source>
        <translation>L%1 通道</translation>
    </message>
    <message>
        <source>, %1 steps</source>
        <translation>，%1 步</translation>
    </message>
    <message>
        <source>, fine-tuned %1 epoch(s)/step</source>
        <translation>，每步微调 %1 轮</translation>
    </message>
    <message>
        <source>pruned %1% (%2)</source>
        <translation>剪枝 %1%（%2）</translation>
    </message>
    <message>
        <source>%1 trained against the original (%2 epochs)</source>
        <translation>%1 以原模型为教师训练（%2 轮）</translation>
    </message>
    <message>
        <source>the trained model, fp32</source>
        <translation>训练好的模型，fp32</translation>
    </message>
    <message>
        <source>%1; %2</source>
        <translation>%1；%2</translation>
    </message>
    <message>
        <source>Compress the trained model</source>
        <translation>压缩训练好的模型</translation>
    </message>
    <message>
        <source>no finished run: train first</source>
        <translation>没有已完成的训练：请先训练</translation>
    </message>
    <message>
        <source>Run: %1</source>
        <translation>训练记录：%1</translation>
    </message>
    <message>
        <source>Prune</source>
        <translation>剪枝</translation>
    </message>
    <message>
        <source>Prune the trained weights</source>
        <translation>对训练好的权重剪枝</translation>
    </message>
    <message>
        <source>Method</source>
        <translation>方法</translation>
    </message>
    <message>
        <source>fraction of the channels (structured) or weights removed</source>
        <translation>移除的通道（结构化）或权重所占比例</translation>
    </message>
    <message>
        <source>Amount</source>
        <translation>比例</translation>
    </message>
    <message>
        <source>iterative schedule: prune a little, fine-tune, repeat</source>
        <translation>迭代式：每次剪一点，微调，再重复</translation>
    </message>
    <message>
        <source>Steps</source>
        <translation>步数</translation>
    </message>
    <message>
        <source>Fine-tune epochs / step</source>
        <translation>每步微调的 epoch 数</translation>
    </message>
    <message>
        <source>Prune frozen layers too</source>
        <translation>也剪枝冻结的层</translation>
    </message>
    <message>
        <source>frozen layers keep their weights unless checked; pruned, they are unfrozen for the fine-tune</source>
        <translation>未勾选时冻结的层保留其权重；勾选后它们被剪枝，并在微调时解冻</translation>
    </message>
    <message>
        <source>Quantize the ONNX export</source>
        <translation>量化导出的 ONNX</translation>
    </message>
    <message>
        <source>int8 dynamic (weights int8, activations per batch)</source>
        <translation>int8 动态量化（权重 int8，激活按批次量化）</translation>
    </message>
    <message>
        <source>int8 static (QDQ, calibrated on the training split)</source>
        <translation>int8 静态量化（QDQ，用训练集校准）</translation>
    </message>
    <message>
        <source>Refuse variants losing more than</source>
        <translation>拒绝指标下降超过此值的变体</translation>
    </message>
    <message>
        <source>points</source>
        <translation>个百分点</translation>
    </message>
    <message>
        <source>Distill into</source>
        <translation>蒸馏到</translation>
    </message>
    <message>
        <source>optional: a student project (same data chain) trained against this model</source>
        <translation>可选：一个学生模型项目（数据链相同），以本模型为教师进行训练</translation>
    </message>
    <message>
        <source>Browse…</source>
        <translation>浏览…</translation>
    </message>
    <message>
        <source>epochs</source>
        <translation>个 epoch</translation>
    </message>
    <message>
        <source>Output folder</source>
        <translation>输出文件夹</translation>
    </message>
    <message>
        <source>Compress</source>
        <translation>压缩</translation>
    </message>
    <message>
        <source>Open Project</source>
        <translation>打开项目</translation>
    </message>
    <message>
        <source>open the selected variant&apos;s project in the designer</source>
        <translation>在设计器中打开所选变体的项目</translation>
    </message>
    <message>
        <source>Export ONNX…</source>
        <translation>导出 ONNX…</translation>
    </message>
    <message>
        <source>Close</source>
        <translation>关闭</translation>
    </message>
    <message>
        <source>Student project</source>
        <translation>学生模型项目</translation>
    </message>
    <message>
        <source>Compressing…</source>
        <translation>正在压缩…</translation>
    </message>
    <message>
        <source>Refused (too lossy): %1; the others are in %2/</source>
        <translation>已拒绝（损失过大）：%1；其余在 %2/ 中</translation>
    </message>
    <message>
        <source>%1 variants in %2/ (report.json)</source>
        <translation>%1 个变体，位于 %2/（report.json）</translation>
    </message>
    <message>
        <source>Accuracy</source>
        <translation>准确率</translation>
    </message>
    <message>
        <source>max %1</source>
        <translation>最大 %1</translation>
    </message>
    <message>
        <source>%1 pts</source>
        <translation>%1 个百分点</translation>
    </message>
    <message>
        <source>refused: %1</source>
        <translation>已拒绝：%1</translation>
    </message>
    <message>
        <source>Export ONNX</source>
        <translation>导出 ONNX</translation>
    </message>
    <message>
        <source>Exported %1 to %2</source>
        <translation>已将 %1 导出到 %2</translation>
    </message>
    <message>
        <source>Still compressing; close again when it is done</source>
        <translation>仍在压缩；完成后再关闭</translation>
    </message>
</context>
<context>
    <name>ConfusionMatrixView</name>
    <message>
        <source>Confusion matrix (test)</source>
        <translation>混淆矩阵（测试集）</translation>
    </message>
    <message>
        <source>predicted</source>
        <translation>预测</translation>
    </message>
    <message>
        <source>true</source>
        <translation>真实</translation>
    </message>
    <message>
        <source>Confusion matrix (test) · accuracy %1</source>
        <translation>混淆矩阵（测试集）· 准确率 %1</translation>
    </message>
</context>
<context>
    <name>ExportDialog</name>
    <message>
        <source>Untrained (initial weights)</source>
        <translation>未训练（初始权重）</translation>
    </message>
    <message>
        <source>Best model of the last run</source>
        <translation>上次训练的最佳模型</translation>
    </message>
    <message>
        <source>Last model of the last run</source>
        <translation>上次训练的最终模型</translation>
    </message>
    <message>
        <source>Checkpoint file…</source>
        <translation>检查点文件…</translation>
    </message>
    <message>
        <source>Choose where to write the file</source>
        <translation>选择文件的保存位置</translation>
    </message>
    <message>
        <source>Save to</source>
        <translation>保存到</translation>
    </message>
    <message>
        <source>Weights</source>
        <translation>权重</translation>
    </message>
    <message>
        <source>a checkpoint written by a training run</source>
        <translation>训练时写出的检查点</translation>
    </message>
    <message>
        <source>Checkpoint</source>
        <translation>检查点</translation>
    </message>
    <message>
        <source>The parity report (torch against the exported model) appears here.</source>
        <translation>一致性报告（torch 与导出模型对比）显示在这里。</translation>
    </message>
    <message>
        <source>Export</source>
        <translation>导出</translation>
    </message>
    <message>
        <source>Export %1</source>
        <translation>导出 %1</translation>
    </message>
    <message>
        <source>Choose a checkpoint</source>
        <translation>选择检查点</translation>
    </message>
    <message>
        <source>Exporting to %1…</source>
        <translation>正在导出到 %1…</translation>
    </message>
    <message>
        <source>Exported %1 — parity passed (max abs difference %2)</source>
        <translation>已导出 %1 — 一致性校验通过（最大绝对误差 %2）</translation>
    </message>
    <message>
        <source>Parity FAILED for %1</source>
        <translation>%1 的一致性校验未通过</translation>
    </message>
    <message>
        <source>Export failed: %1</source>
        <translation>导出失败：%1</translation>
    </message>
</context>
<context>
    <name>Frames</name>
    <message>
        <source>Add frame</source>
        <translation>添加框</translation>
    </message>
    <message>
        <source>Change frame</source>
        <translation>修改框</translation>
    </message>
    <message>
        <source>Delete frame</source>
        <translation>删除框</translation>
    </message>
    <message>
        <source>Collapse</source>
        <translation>折叠</translation>
    </message>
    <message>
        <source>Expand</source>
        <translation>展开</translation>
    </message>
    <message>
        <source>Move frame</source>
        <translation>移动框</translation>
    </message>
    <message>
        <source>Rename frame</source>
        <translation>重命名框</translation>
    </message>
    <message>
        <source>Recolour frame</source>
        <translation>更改框颜色</translation>
    </message>
    <message>
        <source>Rename Frame…</source>
        <translation>重命名框…</translation>
    </message>
    <message>
        <source>Colour…</source>
        <translation>颜色…</translation>
    </message>
    <message>
        <source>Delete Frame</source>
        <translation>删除框</translation>
    </message>
    <message>
        <source>Group</source>
        <translation>分组</translation>
    </message>
    <message>
        <source>Title:</source>
        <translation>标题：</translation>
    </message>
    <message>
        <source>Frame colour</source>
        <translation>框颜色</translation>
    </message>
</context>
<context>
    <name>ImportDialog</name>
    <message>
        <source>%1: no such file</source>
        <translation>%1：文件不存在</translation>
    </message>
    <message>
        <source>%1: no such folder</source>
        <translation>%1：文件夹不存在</translation>
    </message>
    <message>
        <source>Browse…</source>
        <translation>浏览…</translation>
    </message>
    <message>
        <source>Choose an ONNX model</source>
        <translation>选择 ONNX 模型</translation>
    </message>
    <message>
        <source>Freeze all but the last</source>
        <translation>冻结除最后几层外的所有层</translation>
    </message>
    <message>
        <source>Freeze every imported layer except the last N</source>
        <translation>冻结导入的所有层，最后 N 层除外</translation>
    </message>
    <message>
        <source>Import</source>
        <translation>导入</translation>
    </message>
    <message>
        <source>Import Model</source>
        <translation>导入模型</translation>
    </message>
    <message>
        <source>Import failed: %1</source>
        <translation>导入失败：%1</translation>
    </message>
    <message>
        <source>Imported as %1 (trains from its weights)</source>
        <translation>已导入为 %1（训练从其权重开始）</translation>
    </message>
    <message>
        <source>Importing and checking against the original…</source>
        <translation>正在导入并与原模型核对…</translation>
    </message>
    <message>
        <source>Replace files?</source>
        <translation>替换文件？</translation>
    </message>
    <message>
        <source>These files exist and the import replaces them:
%1</source>
        <translation>这些文件已存在，导入会替换它们：
%1</translation>
    </message>
    <message>
        <source>nothing was replaced</source>
        <translation>未替换任何文件</translation>
    </message>
    <message>
        <source>Importing…</source>
        <translation>正在导入…</translation>
    </message>
    <message>
        <source>Input shape (one sample)</source>
        <translation>输入形状（单个样本）</translation>
    </message>
    <message>
        <source>Input type</source>
        <translation>输入类型</translation>
    </message>
    <message>
        <source>ONNX file</source>
        <translation>ONNX 文件</translation>
    </message>
    <message>
        <source>PyTorch module</source>
        <translation>PyTorch 模块</translation>
    </message>
    <message>
        <source>Save project as</source>
        <translation>项目保存为</translation>
    </message>
    <message>
        <source>Save the imported project as</source>
        <translation>将导入的项目保存为</translation>
    </message>
    <message>
        <source>Writing the project and its weights…</source>
        <translation>正在写入项目及其权重…</translation>
    </message>
    <message>
        <source>a PyTorch module needs the input shape</source>
        <translation>PyTorch 模块需要输入形状</translation>
    </message>
    <message>
        <source>choose an ONNX file</source>
        <translation>请选择 ONNX 文件</translation>
    </message>
    <message>
        <source>choose where to save the project</source>
        <translation>请选择项目的保存位置</translation>
    </message>
    <message>
        <source>give the module as package.module:callable</source>
        <translation>请以 package.module:callable 的形式给出模块</translation>
    </message>
    <message>
        <source>no freezing</source>
        <translation>不冻结</translation>
    </message>
    <message>
        <source>the input shape is sizes like 3,224,224</source>
        <translation>输入形状应为如 3,224,224 的尺寸</translation>
    </message>
</context>
<context>
    <name>MainWindow</name>
    <message>
        <source>Loading Torchwire…</source>
        <translation>正在加载 Torchwire…</translation>
    </message>
    <message>
        <source>Loading the engine…</source>
        <translation>正在加载引擎…</translation>
    </message>
    <message>
        <source>Palette</source>
        <translation>节点库</translation>
    </message>
    <message>
        <source>Properties</source>
        <translation>属性</translation>
    </message>
    <message>
        <source>Problems</source>
        <translation>问题</translation>
    </message>
    <message>
        <source>Code</source>
        <translation>代码</translation>
    </message>
    <message>
        <source>Ready; loading the training tools…</source>
        <translation>就绪；正在加载训练工具…</translation>
    </message>
    <message>
        <source>Ready</source>
        <translation>就绪</translation>
    </message>
    <message>
        <source>&amp;Run</source>
        <translation>运行(&amp;R)</translation>
    </message>
    <message>
        <source>&amp;Train</source>
        <translation>训练(&amp;T)</translation>
    </message>
    <message>
        <source>&amp;Pause</source>
        <translation>暂停(&amp;P)</translation>
    </message>
    <message>
        <source>Res&amp;ume</source>
        <translation>继续(&amp;U)</translation>
    </message>
    <message>
        <source>&amp;Stop</source>
        <translation>停止(&amp;S)</translation>
    </message>
    <message>
        <source>Training</source>
        <translation>训练</translation>
    </message>
    <message>
        <source>Predict</source>
        <translation>预测</translation>
    </message>
    <message>
        <source>Tuning</source>
        <translation>调参</translation>
    </message>
    <message>
        <source>&amp;New</source>
        <translation>新建(&amp;N)</translation>
    </message>
    <message>
        <source>&amp;Open…</source>
        <translation>打开(&amp;O)…</translation>
    </message>
    <message>
        <source>&amp;Save</source>
        <translation>保存(&amp;S)</translation>
    </message>
    <message>
        <source>Save &amp;As…</source>
        <translation>另存为(&amp;A)…</translation>
    </message>
    <message>
        <source>&amp;Quit</source>
        <translation>退出(&amp;Q)</translation>
    </message>
    <message>
        <source>&amp;Undo</source>
        <translation>撤销(&amp;U)</translation>
    </message>
    <message>
        <source>&amp;Redo</source>
        <translation>重做(&amp;R)</translation>
    </message>
    <message>
        <source>Undo</source>
        <translation>撤销</translation>
    </message>
    <message>
        <source>Redo</source>
        <translation>重做</translation>
    </message>
    <message>
        <source>Cu&amp;t</source>
        <translation>剪切(&amp;T)</translation>
    </message>
    <message>
        <source>&amp;Copy</source>
        <translation>复制(&amp;C)</translation>
    </message>
    <message>
        <source>&amp;Paste</source>
        <translation>粘贴(&amp;P)</translation>
    </message>
    <message>
        <source>&amp;Duplicate</source>
        <translation>创建副本(&amp;D)</translation>
    </message>
    <message>
        <source>De&amp;lete</source>
        <translation>删除(&amp;L)</translation>
    </message>
    <message>
        <source>Re&amp;name…</source>
        <translation>重命名(&amp;N)…</translation>
    </message>
    <message>
        <source>Free&amp;ze</source>
        <translation>冻结(&amp;Z)</translation>
    </message>
    <message>
        <source>Un&amp;freeze</source>
        <translation>解冻(&amp;F)</translation>
    </message>
    <message>
        <source>Select &amp;All</source>
        <translation>全选(&amp;A)</translation>
    </message>
    <message>
        <source>&amp;Add Node…</source>
        <translation>添加节点(&amp;A)…</translation>
    </message>
    <message>
        <source>Search the catalog and add a node (Tab on the canvas)</source>
        <translation>搜索节点目录并添加节点（在画布上按 Tab）</translation>
    </message>
    <message>
        <source>&amp;Fit to View</source>
        <translation>适应窗口(&amp;F)</translation>
    </message>
    <message>
        <source>Auto-&amp;Layout</source>
        <translation>自动布局(&amp;L)</translation>
    </message>
    <message>
        <source>Zoom &amp;In</source>
        <translation>放大(&amp;I)</translation>
    </message>
    <message>
        <source>Zoom &amp;Out</source>
        <translation>缩小(&amp;O)</translation>
    </message>
    <message>
        <source>&amp;Actual Size</source>
        <translation>实际大小(&amp;A)</translation>
    </message>
    <message>
        <source>Check &amp;Now</source>
        <translation>立即检查(&amp;N)</translation>
    </message>
    <message>
        <source>&amp;Settings…</source>
        <translation>设置(&amp;S)…</translation>
    </message>
    <message>
        <source>Language and other preferences</source>
        <translation>界面语言等偏好设置</translation>
    </message>
    <message>
        <source>&amp;Find in Palette</source>
        <translation>在节点库中查找(&amp;F)</translation>
    </message>
    <message>
        <source>&amp;File</source>
        <translation>文件(&amp;F)</translation>
    </message>
    <message>
        <source>Loading the training tools…</source>
        <translation>正在加载训练工具…</translation>
    </message>
    <message>
        <source>Loading the editor…</source>
        <translation>正在加载编辑器…</translation>
    </message>
    <message>
        <source>Open &amp;Recent</source>
        <translation>最近打开(&amp;R)</translation>
    </message>
    <message>
        <source>&amp;Examples</source>
        <translation>示例(&amp;E)</translation>
    </message>
    <message>
        <source>&amp;Import Model…</source>
        <translation>导入模型(&amp;I)…</translation>
    </message>
    <message>
        <source>E&amp;xport</source>
        <translation>导出(&amp;X)</translation>
    </message>
    <message>
        <source>&amp;Edit</source>
        <translation>编辑(&amp;E)</translation>
    </message>
    <message>
        <source>&amp;View</source>
        <translation>视图(&amp;V)</translation>
    </message>
    <message>
        <source>&amp;Help</source>
        <translation>帮助(&amp;H)</translation>
    </message>
    <message>
        <source>Keyboard Shortcuts</source>
        <translation>键盘快捷键</translation>
    </message>
    <message>
        <source>About %1</source>
        <translation>关于 %1</translation>
    </message>
    <message>
        <source>(none)</source>
        <translation>（无）</translation>
    </message>
    <message>
        <source>Clear Recent</source>
        <translation>清除最近记录</translation>
    </message>
    <message>
        <source>(no examples found)</source>
        <translation>（未找到示例）</translation>
    </message>
    <message>
        <source>&amp;ONNX…</source>
        <translation>&amp;ONNX…</translation>
    </message>
    <message>
        <source>&amp;Python Code…</source>
        <translation>&amp;Python 代码…</translation>
    </message>
    <message>
        <source>Server &amp;Bundle…</source>
        <translation>服务器部署包(&amp;B)…</translation>
    </message>
    <message>
        <source>Ser&amp;ve…</source>
        <translation>部署服务(&amp;V)…</translation>
    </message>
    <message>
        <source>&amp;Compress Last Run…</source>
        <translation>压缩上次训练的模型(&amp;C)…</translation>
    </message>
    <message>
        <source>checking…</source>
        <translation>检查中…</translation>
    </message>
    <message>
        <source>%1 parameters</source>
        <translation>%1 个参数</translation>
    </message>
    <message>
        <source>%1 errors</source>
        <translation>%1 个错误</translation>
    </message>
    <message>
        <source>%1 error</source>
        <translation>%1 个错误</translation>
    </message>
    <message>
        <source>%1 warnings</source>
        <translation>%1 个警告</translation>
    </message>
    <message>
        <source>%1 warning</source>
        <translation>%1 个警告</translation>
    </message>
    <message>
        <source>no problems</source>
        <translation>没有问题</translation>
    </message>
    <message>
        <source>ready to train</source>
        <translation>可以开始训练</translation>
    </message>
    <message>
        <source>not ready to train</source>
        <translation>尚不能训练</translation>
    </message>
    <message>
        <source>check %1 ms</source>
        <translation>检查 %1 毫秒</translation>
    </message>
    <message>
        <source>check &lt;1 ms</source>
        <translation>检查 &lt;1 毫秒</translation>
    </message>
    <message>
        <source> (%1 epochs)</source>
        <translation>（%1 个轮次）</translation>
    </message>
    <message>
        <source>A training run is going on%1. Closing stops it; its last checkpoint is kept.</source>
        <translation>正在进行训练%1。关闭会停止训练；最后的检查点会保留。</translation>
    </message>
    <message>
        <source>Stop the run and close?</source>
        <translation>停止训练并关闭？</translation>
    </message>
    <message>
        <source>Save changes to %1?</source>
        <translation>保存对 %1 的修改吗？</translation>
    </message>
    <message>
        <source>Open project</source>
        <translation>打开项目</translation>
    </message>
    <message>
        <source>Save project as</source>
        <translation>项目另存为</translation>
    </message>
    <message>
        <source>Torchwire projects (*.json);;All files (*)</source>
        <translation>Torchwire 项目 (*.json);;所有文件 (*)</translation>
    </message>
    <message>
        <source>Cannot open project</source>
        <translation>无法打开项目</translation>
    </message>
    <message>
        <source>Opened %1 (%2 nodes, %3 ms)</source>
        <translation>已打开 %1（%2 个节点，%3 毫秒）</translation>
    </message>
    <message>
        <source>Cannot save project</source>
        <translation>无法保存项目</translation>
    </message>
    <message>
        <source>Saved %1</source>
        <translation>已保存 %1</translation>
    </message>
    <message>
        <source>Cannot recover unsaved work</source>
        <translation>无法恢复未保存的工作</translation>
    </message>
    <message>
        <source>Recovered %1</source>
        <translation>已恢复 %1</translation>
    </message>
    <message>
        <source>Recover unsaved work</source>
        <translation>恢复未保存的工作</translation>
    </message>
    <message>
        <source>Torchwire did not close cleanly. Recover this unsaved work?</source>
        <translation>Torchwire 上次没有正常关闭。要恢复这些未保存的工作吗？</translation>
    </message>
    <message>
        <source>Rename node</source>
        <translation>重命名节点</translation>
    </message>
    <message>
        <source>Name:</source>
        <translation>名称：</translation>
    </message>
    <message>
        <source>Keyboard shortcuts</source>
        <translation>键盘快捷键</translation>
    </message>
    <message>
        <source>Canvas: drag with the middle button or Alt to pan, wheel to zoom, drag on the background to select, drag from a port to connect.</source>
        <translation>画布：按住鼠标中键或 Alt 拖动以平移，滚轮缩放，在空白处拖动以框选，从端口拖出以连线。</translation>
    </message>
    <message>
        <source>Design, train and ship PyTorch models visually.</source>
        <translation>可视化地设计、训练和发布 PyTorch 模型。</translation>
    </message>
    <message>
        <source>ready</source>
        <translation>就绪</translation>
    </message>
    <message>
        <source>not ready</source>
        <translation>未就绪</translation>
    </message>
    <message>
        <source>fix the errors first</source>
        <translation>请先修复错误</translation>
    </message>
    <message>
        <source>add a dataset, a loss and an optimizer to train</source>
        <translation>添加数据集、损失函数和优化器后才能训练</translation>
    </message>
    <message>
        <source>Could not load the engine:</source>
        <translation>无法加载引擎：</translation>
    </message>
    <message>
        <source>Custom node types refused: %1</source>
        <translation>已拒绝的自定义节点类型：%1</translation>
    </message>
    <message>
        <source>Add &amp;Frame</source>
        <translation>添加框(&amp;F)</translation>
    </message>
    <message>
        <source>A titled, coloured frame around the selected nodes</source>
        <translation>在所选节点周围添加带标题的彩色框</translation>
    </message>
    <message>
        <source>&amp;Collapse/Expand Node</source>
        <translation>折叠/展开节点(&amp;C)</translation>
    </message>
    <message>
        <source>&amp;Minimap</source>
        <translation>小地图(&amp;M)</translation>
    </message>
    <message>
        <source>Node help</source>
        <translation>节点帮助</translation>
    </message>
    <message>
        <source>Node &amp;Help</source>
        <translation>节点帮助(&amp;H)</translation>
    </message>
</context>
<context>
    <name>MakeBlockDialog</name>
    <message>
        <source>Make Block</source>
        <translation>创建模块</translation>
    </message>
    <message>
        <source>Block name:</source>
        <translation>模块名称:</translation>
    </message>
    <message>
        <source>Parameters to expose (rows with the same exposed name become one):</source>
        <translation>要公开的参数(公开名称相同的行合并为一个参数):</translation>
    </message>
    <message>
        <source>Inner parameter</source>
        <translation>内部参数</translation>
    </message>
    <message>
        <source>Exposed as</source>
        <translation>公开名称</translation>
    </message>
</context>
<context>
    <name>Metrics</name>
    <message>
        <source>loss</source>
        <translation>损失</translation>
    </message>
    <message>
        <source>accuracy</source>
        <translation>准确率</translation>
    </message>
    <message>
        <source>precision (macro)</source>
        <translation>精确率（宏平均）</translation>
    </message>
    <message>
        <source>recall (macro)</source>
        <translation>召回率（宏平均）</translation>
    </message>
    <message>
        <source>F1 (macro)</source>
        <translation>F1（宏平均）</translation>
    </message>
</context>
<context>
    <name>Minimap</name>
    <message>
        <source>Minimap: click or drag to move the view</source>
        <translation>小地图：点击或拖动以移动视图</translation>
    </message>
</context>
<context>
    <name>NodeHelp</name>
    <message>
        <source>range</source>
        <translation>范围</translation>
    </message>
    <message>
        <source>one of</source>
        <translation>可选值</translation>
    </message>
    <message>
        <source>may be left empty</source>
        <translation>可以留空</translation>
    </message>
    <message>
        <source>default</source>
        <translation>默认值</translation>
    </message>
    <message>
        <source>When to use it</source>
        <translation>何时使用</translation>
    </message>
    <message>
        <source>In PyTorch</source>
        <translation>PyTorch 中</translation>
    </message>
    <message>
        <source>torch documentation</source>
        <translation>torch 文档</translation>
    </message>
    <message>
        <source>no single torch equivalent (Torchwire builds it)</source>
        <translation>没有单一的 torch 对应项（由 Torchwire 构建）</translation>
    </message>
    <message>
        <source>Parameters</source>
        <translation>参数</translation>
    </message>
    <message>
        <source>Inputs</source>
        <translation>输入</translation>
    </message>
    <message>
        <source>Outputs</source>
        <translation>输出</translation>
    </message>
    <message>
        <source>Select a node and press F1 to read about it.</source>
        <translation>选择一个节点并按 F1 查看其说明。</translation>
    </message>
</context>
<context>
    <name>NodeSearchPopup</name>
    <message>
        <source>Add node: type to search…</source>
        <translation>添加节点：输入以搜索…</translation>
    </message>
</context>
<context>
    <name>OnnxExportDialog</name>
    <message>
        <source>Export to ONNX</source>
        <translation>导出为 ONNX</translation>
    </message>
    <message>
        <source>exporter&apos;s default</source>
        <translation>导出器默认值</translation>
    </message>
    <message>
        <source>ONNX operator set version; older runtimes need lower ones</source>
        <translation>ONNX 算子集（opset）版本；较旧的运行时需要较低的版本</translation>
    </message>
    <message>
        <source>Opset</source>
        <translation>算子集</translation>
    </message>
    <message>
        <source>Bake preprocessing into the model (it then takes raw features)</source>
        <translation>把预处理烘焙进模型（模型将直接接收原始特征）</translation>
    </message>
    <message>
        <source>Puts the standardization / normalization fitted on the training split into the ONNX graph; needs trained weights</source>
        <translation>把在训练集上拟合的标准化 / 归一化写入 ONNX 计算图；需要训练好的权重</translation>
    </message>
</context>
<context>
    <name>PalettePanel</name>
    <message>
        <source>Search nodes…</source>
        <translation>搜索节点…</translation>
    </message>
</context>
<context>
    <name>ParamEditor</name>
    <message>
        <source>range %1</source>
        <translation>范围 %1</translation>
    </message>
    <message>
        <source>default: %1</source>
        <translation>默认值：%1</translation>
    </message>
</context>
<context>
    <name>PredictPanel</name>
    <message>
        <source>Best model of the last run</source>
        <translation>上次训练的最佳模型</translation>
    </message>
    <message>
        <source>Last model of the last run</source>
        <translation>上次训练的最终模型</translation>
    </message>
    <message>
        <source>Checkpoint file…</source>
        <translation>检查点文件…</translation>
    </message>
    <message>
        <source>%1 values: %2</source>
        <translation>%1 个值：%2</translation>
    </message>
    <message>
        <source>%1 numbers</source>
        <translation>%1 个数</translation>
    </message>
    <message>
        <source>%1 numbers (reshaped to %2), or use a file</source>
        <translation>%1 个数（变形为 %2），或使用文件</translation>
    </message>
    <message>
        <source>Model</source>
        <translation>模型</translation>
    </message>
    <message>
        <source>Use</source>
        <translation>使用</translation>
    </message>
    <message>
        <source>a checkpoint written by a training run</source>
        <translation>训练时写出的检查点</translation>
    </message>
    <message>
        <source>Choose a checkpoint file</source>
        <translation>选择检查点文件</translation>
    </message>
    <message>
        <source>Checkpoint</source>
        <translation>检查点</translation>
    </message>
    <message>
        <source>Input</source>
        <translation>输入</translation>
    </message>
    <message>
        <source>A row typed in</source>
        <translation>手动输入一行</translation>
    </message>
    <message>
        <source>A file: CSV, .npz, or an image folder</source>
        <translation>文件：CSV、.npz 或图像文件夹</translation>
    </message>
    <message>
        <source>e.g. 5.1, 3.5, 1.4, 0.2</source>
        <translation>例如 5.1, 3.5, 1.4, 0.2</translation>
    </message>
    <message>
        <source>path to a CSV, a .npz, or a folder of images</source>
        <translation>CSV、.npz 文件或图像文件夹的路径</translation>
    </message>
    <message>
        <source>File…</source>
        <translation>文件…</translation>
    </message>
    <message>
        <source>Folder…</source>
        <translation>文件夹…</translation>
    </message>
    <message>
        <source>Predict</source>
        <translation>预测</translation>
    </message>
    <message>
        <source>No prediction yet.</source>
        <translation>尚无预测结果。</translation>
    </message>
    <message>
        <source>prediction</source>
        <translation>预测值</translation>
    </message>
    <message>
        <source>confidence</source>
        <translation>置信度</translation>
    </message>
    <message>
        <source>Choose a model and an input, then Predict.
One sample: its class and the probability of each class.
A file: one row per sample; select a row to see its probabilities.</source>
        <translation>选择模型和输入，然后点击“预测”。
单个样本：显示其类别及各类别的概率。
文件：每个样本一行；选中一行可查看其概率。</translation>
    </message>
    <message>
        <source>train the model first (Training panel), or choose a checkpoint file</source>
        <translation>请先训练模型（训练面板），或选择一个检查点文件</translation>
    </message>
    <message>
        <source>Expected: %1</source>
        <translation>期望输入：%1</translation>
    </message>
    <message>
        <source>Choose a checkpoint</source>
        <translation>选择检查点</translation>
    </message>
    <message>
        <source>Data to predict on</source>
        <translation>要预测的数据</translation>
    </message>
    <message>
        <source>Folder of images to predict on</source>
        <translation>要预测的图像文件夹</translation>
    </message>
    <message>
        <source>No model yet: train one, or choose a checkpoint file</source>
        <translation>还没有模型：请先训练，或选择一个检查点文件</translation>
    </message>
    <message>
        <source>Type a row or choose a file to predict on</source>
        <translation>输入一行数据或选择要预测的文件</translation>
    </message>
    <message>
        <source>Run the model on this input (Enter)</source>
        <translation>用模型预测此输入（回车）</translation>
    </message>
    <message>
        <source>Predicting…</source>
        <translation>正在预测…</translation>
    </message>
    <message>
        <source>Could not predict: %1</source>
        <translation>无法预测：%1</translation>
    </message>
    <message>
        <source>%1 sample%2 in %3 ms</source>
        <translation>%1 个样本，用时 %3 毫秒</translation>
    </message>
    <message>
        <source>Warning: %1</source>
        <translation>警告：%1</translation>
    </message>
    <message>
        <source>file</source>
        <translation>文件</translation>
    </message>
    <message>
        <source>class</source>
        <translation>类别</translation>
    </message>
    <message>
        <source>value</source>
        <translation>值</translation>
    </message>
    <message>
        <source>%1 samples: %2</source>
        <translation>%1 个样本：%2</translation>
    </message>
    <message>
        <source>%1 samples: mean %2, range %3 – %4</source>
        <translation>%1 个样本：均值 %2，范围 %3 – %4</translation>
    </message>
    <message>
        <source>Predicted value: %1</source>
        <translation>预测值：%1</translation>
    </message>
</context>
<context>
    <name>ProbabilityBars</name>
    <message>
        <source>Class probabilities</source>
        <translation>各类别概率</translation>
    </message>
</context>
<context>
    <name>ProblemsPanel</name>
    <message>
        <source>Node</source>
        <translation>节点</translation>
    </message>
    <message>
        <source>Problem</source>
        <translation>问题</translation>
    </message>
    <message>
        <source>Select node</source>
        <translation>选中节点</translation>
    </message>
    <message>
        <source>Fix: %1</source>
        <translation>修复：%1</translation>
    </message>
</context>
<context>
    <name>PropertiesPanel</name>
    <message>
        <source>&lt;b&gt;%1 nodes selected&lt;/b&gt;</source>
        <translation>&lt;b&gt;已选中 %1 个节点&lt;/b&gt;</translation>
    </message>
    <message>
        <source>&lt;b&gt;Project&lt;/b&gt;</source>
        <translation>&lt;b&gt;项目&lt;/b&gt;</translation>
    </message>
    <message>
        <source>name</source>
        <translation>名称</translation>
    </message>
    <message>
        <source>Select a node to edit its parameters. Drag entries from the palette, or press &lt;b&gt;Tab&lt;/b&gt; on the canvas to add a node.</source>
        <translation>选中一个节点以编辑其参数。从节点库拖入条目，或在画布上按 &lt;b&gt;Tab&lt;/b&gt; 添加节点。</translation>
    </message>
    <message>
        <source>%1 nodes, %2 connections</source>
        <translation>%1 个节点，%2 条连线</translation>
    </message>
    <message>
        <source>%1 parameters</source>
        <translation>%1 个参数</translation>
    </message>
    <message>
        <source>%1 MACs per sample</source>
        <translation>每个样本 %1 次乘加（MACs）</translation>
    </message>
    <message>
        <source>inferred: </source>
        <translation>自动推断：</translation>
    </message>
    <message>
        <source>filled from the incoming shape; not a parameter</source>
        <translation>由输入形状自动填写；不是可设置的参数</translation>
    </message>
    <message>
        <source>frozen: training keeps this layer&apos;s weights as loaded</source>
        <translation>冻结：训练时保持该层加载的权重不变</translation>
    </message>
    <message>
        <source>frozen</source>
        <translation>冻结</translation>
    </message>
    <message>
        <source>multiplies the optimizer&apos;s learning rate for this layer</source>
        <translation>该层的学习率为优化器学习率乘以此值</translation>
    </message>
    <message>
        <source>output %1</source>
        <translation>输出 %1</translation>
    </message>
    <message>
        <source>Fix: %1</source>
        <translation>修复：%1</translation>
    </message>
    <message>
        <source>%1 samples</source>
        <translation>%1 个样本</translation>
    </message>
    <message>
        <source>split %1</source>
        <translation>划分 %1</translation>
    </message>
    <message>
        <source>features %1</source>
        <translation>特征 %1</translation>
    </message>
    <message>
        <source>%1, %2 classes</source>
        <translation>%1，%2 个类别</translation>
    </message>
    <message>
        <source>classes: %1</source>
        <translation>类别：%1</translation>
    </message>
    <message>
        <source>classification</source>
        <translation>分类</translation>
    </message>
    <message>
        <source>regression</source>
        <translation>回归</translation>
    </message>
    <message>
        <source>train</source>
        <translation>训练</translation>
    </message>
    <message>
        <source>val</source>
        <translation>验证</translation>
    </message>
    <message>
        <source>test</source>
        <translation>测试</translation>
    </message>
    <message>
        <source>What this node does (F1)</source>
        <translation>此节点的作用（F1）</translation>
    </message>
</context>
<context>
    <name>PythonExportDialog</name>
    <message>
        <source>Export as Python code</source>
        <translation>导出为 Python 代码</translation>
    </message>
    <message>
        <source>Include data loading, preprocessing and the training loop</source>
        <translation>包含数据加载、预处理和训练循环</translation>
    </message>
    <message>
        <source>Without it the file holds the model class (and loads the checkpoint&apos;s weights)</source>
        <translation>不勾选时，文件只包含模型类（并加载检查点中的权重）</translation>
    </message>
</context>
<context>
    <name>QAbstractFileIconProvider</name>
    <message>
        <source>Drive</source>
        <translation>驱动器</translation>
    </message>
    <message>
        <source>Folder</source>
        <comment>All other platforms</comment>
        <translation>文件夹</translation>
    </message>
    <message>
        <source>Unknown</source>
        <translation>未知</translation>
    </message>
</context>
<context>
    <name>QFileDialog</name>
    <message>
        <source>&amp;Look in:</source>
        <translation>查找范围(&amp;L)：</translation>
    </message>
    <message>
        <source>Files of &amp;type:</source>
        <translation>文件类型(&amp;T)：</translation>
    </message>
</context>
<context>
    <name>RunsPanel</name>
    <message>
        <source>running</source>
        <translation>运行中</translation>
    </message>
    <message>
        <source>finished</source>
        <translation>已完成</translation>
    </message>
    <message>
        <source>stopped</source>
        <translation>已停止</translation>
    </message>
    <message>
        <source>incomplete</source>
        <translation>未完成</translation>
    </message>
    <message>
        <source>unreadable</source>
        <translation>无法读取</translation>
    </message>
    <message>
        <source>run</source>
        <translation>运行</translation>
    </message>
    <message>
        <source>started</source>
        <translation>开始时间</translation>
    </message>
    <message>
        <source>status</source>
        <translation>状态</translation>
    </message>
    <message>
        <source>epochs</source>
        <translation>轮数</translation>
    </message>
    <message>
        <source>test</source>
        <translation>测试</translation>
    </message>
    <message>
        <source>differs</source>
        <translation>不同的设置</translation>
    </message>
    <message>
        <source>Refresh</source>
        <translation>刷新</translation>
    </message>
    <message>
        <source>Open This Run&apos;s Project</source>
        <translation>打开此次运行的项目</translation>
    </message>
    <message>
        <source>curve</source>
        <translation>曲线</translation>
    </message>
    <message>
        <source>runs compared</source>
        <translation>运行对比</translation>
    </message>
    <message>
        <source>Save the project to list its runs.</source>
        <translation>保存项目后即可列出其运行。</translation>
    </message>
    <message>
        <source>reading runs…</source>
        <translation>正在读取运行…</translation>
    </message>
    <message>
        <source>%1 runs</source>
        <translation>%1 次运行</translation>
    </message>
    <message>
        <source>no runs yet</source>
        <translation>尚无运行</translation>
    </message>
    <message>
        <source>Runs</source>
        <translation>运行</translation>
    </message>
</context>
<context>
    <name>ScatterView</name>
    <message>
        <source>Predicted vs true (test)</source>
        <translation>预测值与真实值（测试集）</translation>
    </message>
    <message>
        <source>true</source>
        <translation>真实值</translation>
    </message>
    <message>
        <source>predicted</source>
        <translation>预测值</translation>
    </message>
    <message>
        <source>Predicted vs true (test) · R² %1 · %2 samples</source>
        <translation>预测值与真实值（测试集）· R² %1 · %2 个样本</translation>
    </message>
</context>
<context>
    <name>SeriesPlot</name>
    <message>
        <source>train (batch)</source>
        <translation>训练（每批）</translation>
    </message>
    <message>
        <source>train</source>
        <translation>训练集</translation>
    </message>
    <message>
        <source>validation</source>
        <translation>验证集</translation>
    </message>
</context>
<context>
    <name>ServeDialog</name>
    <message>
        <source>Train the model first (Run ▸ Train): a server serves the last run&apos;s best checkpoint.</source>
        <translation>请先训练模型（运行 ▸ 训练）：服务器提供的是上次训练的最佳检查点。</translation>
    </message>
    <message>
        <source>Serve the model</source>
        <translation>部署模型服务</translation>
    </message>
    <message>
        <source>any free port</source>
        <translation>任意空闲端口</translation>
    </message>
    <message>
        <source>The port on 127.0.0.1 (this computer only)</source>
        <translation>127.0.0.1 上的端口（仅限本机）</translation>
    </message>
    <message>
        <source>Port</source>
        <translation>端口</translation>
    </message>
    <message>
        <source>not serving</source>
        <translation>未在服务</translation>
    </message>
    <message>
        <source>Model name</source>
        <translation>模型名称</translation>
    </message>
    <message>
        <source>Open Inference Protocol</source>
        <translation>开放推理协议</translation>
    </message>
    <message>
        <source>Inference over the Open Inference Protocol (KServe v2, Triton): the tensor layout is on the API page (/docs)</source>
        <translation>通过开放推理协议（KServe v2、Triton）推理：张量布局见 API 页面（/docs）</translation>
    </message>
    <message>
        <source>URL</source>
        <translation>网址</translation>
    </message>
    <message>
        <source>Copy</source>
        <translation>复制</translation>
    </message>
    <message>
        <source>Copy the curl line to the clipboard</source>
        <translation>把 curl 命令复制到剪贴板</translation>
    </message>
    <message>
        <source>Try it</source>
        <translation>试一试</translation>
    </message>
    <message>
        <source>The server listens on 127.0.0.1 (this computer only) and runs while this window is open. For other machines: File ▸ Export ▸ Server bundle…, or torchwire serve --host.</source>
        <translation>服务器监听 127.0.0.1（仅限本机），在此窗口打开期间运行。要供其他机器使用：文件 ▸ 导出 ▸ 服务器部署包…，或 torchwire serve --host。</translation>
    </message>
    <message>
        <source>Start</source>
        <translation>启动</translation>
    </message>
    <message>
        <source>Stop</source>
        <translation>停止</translation>
    </message>
    <message>
        <source>exporting the model (parity check) and starting the server…</source>
        <translation>正在导出模型（一致性校验）并启动服务器…</translation>
    </message>
    <message>
        <source>serving at %1 — API page %2/docs</source>
        <translation>正在服务：%1 — API 页面 %2/docs</translation>
    </message>
    <message>
        <source>stopping…</source>
        <translation>正在停止…</translation>
    </message>
    <message>
        <source>stopped</source>
        <translation>已停止</translation>
    </message>
</context>
<context>
    <name>SettingsDialog</name>
    <message>
        <source>Settings</source>
        <translation>设置</translation>
    </message>
    <message>
        <source>Interface</source>
        <translation>界面</translation>
    </message>
    <message>
        <source>System default</source>
        <translation>跟随系统</translation>
    </message>
    <message>
        <source>System default: Chinese when the system&apos;s language is Chinese</source>
        <translation>跟随系统：系统语言为中文时使用中文</translation>
    </message>
    <message>
        <source>Language:</source>
        <translation>语言：</translation>
    </message>
    <message>
        <source>A new language takes effect when Torchwire is restarted.</source>
        <translation>新的语言将在重新启动 Torchwire 后生效。</translation>
    </message>
    <message>
        <source>Language saved; restart Torchwire to apply it.</source>
        <translation>语言已保存；重新启动 Torchwire 后生效。</translation>
    </message>
    <message>
        <source>Node folders</source>
        <translation>节点文件夹</translation>
    </message>
    <message>
        <source>Folders of Python files whose nn.Module classes become node types (palette category Custom). Only the folders listed here are loaded: opening a project never runs code.</source>
        <translation>其中 Python 文件定义的 PyTorch 模块类会成为节点类型（节点面板中的“自定义”类别）。只加载这里列出的文件夹：打开项目从不运行代码。</translation>
    </message>
    <message>
        <source>Add…</source>
        <translation>添加…</translation>
    </message>
    <message>
        <source>Remove</source>
        <translation>移除</translation>
    </message>
    <message>
        <source>Node folder</source>
        <translation>节点文件夹</translation>
    </message>
</context>
<context>
    <name>TrainingPanel</name>
    <message>
        <source>no CUDA device on this machine</source>
        <translation>本机没有 CUDA 设备</translation>
    </message>
    <message>
        <source>no Apple GPU (MPS) on this machine</source>
        <translation>本机没有 Apple GPU（MPS）</translation>
    </message>
    <message>
        <source>one CUDA device</source>
        <translation>一个 CUDA 设备</translation>
    </message>
    <message>
        <source>no CUDA device</source>
        <translation>没有 CUDA 设备</translation>
    </message>
    <message>
        <source>Several processes need two or more CUDA devices; this machine has %1. On the CPU: torchwire train FILE --nproc-per-node N</source>
        <translation>多进程训练需要两个或更多 CUDA 设备；本机有%1。在 CPU 上可用：torchwire train FILE --nproc-per-node N</translation>
    </message>
    <message>
        <source>The graph is being checked…</source>
        <translation>正在检查计算图…</translation>
    </message>
    <message>
        <source>Train</source>
        <translation>训练</translation>
    </message>
    <message>
        <source>Pause</source>
        <translation>暂停</translation>
    </message>
    <message>
        <source>Stop</source>
        <translation>停止</translation>
    </message>
    <message>
        <source>Continue</source>
        <translation>接着训练</translation>
    </message>
    <message>
        <source>Resume the last run from its last checkpoint with the current settings (e.g. more epochs, a lower learning rate)</source>
        <translation>用当前设置从上次训练的最后一个检查点接着训练（例如更多 epoch、更低的学习率）</translation>
    </message>
    <message>
        <source>Device</source>
        <translation>设备</translation>
    </message>
    <message>
        <source>Where to train; &apos;auto&apos; picks CUDA or MPS when present</source>
        <translation>在哪里训练；“auto”会在有 CUDA 或 MPS 时自动选用</translation>
    </message>
    <message>
        <source>Processes</source>
        <translation>进程数</translation>
    </message>
    <message>
        <source>Checking the machine&apos;s devices…</source>
        <translation>正在检查本机设备…</translation>
    </message>
    <message>
        <source>Run folder</source>
        <translation>训练文件夹</translation>
    </message>
    <message>
        <source>Open the last run&apos;s folder (checkpoints, metrics, history)</source>
        <translation>打开上次训练的文件夹（检查点、指标、历史记录）</translation>
    </message>
    <message>
        <source>Settings</source>
        <translation>设置</translation>
    </message>
    <message>
        <source>Show or hide the training settings</source>
        <translation>显示或隐藏训练设置</translation>
    </message>
    <message>
        <source>Not started</source>
        <translation>尚未开始</translation>
    </message>
    <message>
        <source>Loading the training settings…</source>
        <translation>正在加载训练设置…</translation>
    </message>
    <message>
        <source>Loss</source>
        <translation>损失</translation>
    </message>
    <message>
        <source>epoch</source>
        <translation>epoch</translation>
    </message>
    <message>
        <source>Accuracy</source>
        <translation>准确率</translation>
    </message>
    <message>
        <source>Learning rate</source>
        <translation>学习率</translation>
    </message>
    <message>
        <source>Progress</source>
        <translation>进度</translation>
    </message>
    <message>
        <source>Test metric</source>
        <translation>测试指标</translation>
    </message>
    <message>
        <source>Value</source>
        <translation>值</translation>
    </message>
    <message>
        <source>Test results appear here when a run finishes.</source>
        <translation>训练结束后，测试结果显示在这里。</translation>
    </message>
    <message>
        <source>Results</source>
        <translation>结果</translation>
    </message>
    <message>
        <source>Log</source>
        <translation>日志</translation>
    </message>
    <message>
        <source>Nothing to train yet: add a dataset, an Input, layers, a loss and an optimizer (palette, or Tab on the canvas), or open File ▸ Examples</source>
        <translation>还没有可训练的内容：添加数据集、Input、层、损失和优化器（节点面板，或在画布上按 Tab），或打开 文件 ▸ 示例</translation>
    </message>
    <message>
        <source>Train the current graph</source>
        <translation>训练当前计算图</translation>
    </message>
    <message>
        <source>the graph is not ready to train</source>
        <translation>计算图尚不能训练</translation>
    </message>
    <message>
        <source>… and %1 more</source>
        <translation>… 以及另外 %1 条</translation>
    </message>
    <message>
        <source>Cannot train yet:</source>
        <translation>暂时无法训练：</translation>
    </message>
    <message>
        <source>Train on up to %1 processes, one GPU each (DistributedDataParallel); the batch size stays the global batch</source>
        <translation>最多用 %1 个进程训练，每个进程一块 GPU（DistributedDataParallel）；批大小仍指全局批次</translation>
    </message>
    <message>
        <source>train on %1</source>
        <translation>在 %1 上训练</translation>
    </message>
    <message>
        <source>Training is unavailable: %1</source>
        <translation>无法训练：%1</translation>
    </message>
    <message>
        <source>The engine declares no training settings.</source>
        <translation>引擎没有声明任何训练设置。</translation>
    </message>
    <message>
        <source>A run is in progress</source>
        <translation>正在训练中</translation>
    </message>
    <message>
        <source>Several processes cannot pause; Stop keeps last.pt</source>
        <translation>多进程训练无法暂停；停止时会保留 last.pt</translation>
    </message>
    <message>
        <source>Resume</source>
        <translation>继续</translation>
    </message>
    <message>
        <source>Ready to train</source>
        <translation>可以开始训练</translation>
    </message>
    <message>
        <source>Preparing the data and the model…</source>
        <translation>正在准备数据和模型…</translation>
    </message>
    <message>
        <source>Paused</source>
        <translation>已暂停</translation>
    </message>
    <message>
        <source>Training…</source>
        <translation>训练中…</translation>
    </message>
    <message>
        <source>Stopping at the next batch…</source>
        <translation>将在下一个批次停止…</translation>
    </message>
    <message>
        <source>Epoch 1/%1 · starting</source>
        <translation>第 1/%1 轮 · 开始中</translation>
    </message>
    <message>
        <source>%1 left</source>
        <translation>剩余 %1</translation>
    </message>
    <message>
        <source>%1 samples/s</source>
        <translation>%1 样本/秒</translation>
    </message>
    <message>
        <source>Epoch %1/%2 · batch %3/%4%5 · loss %6%7</source>
        <translation>第 %1/%2 轮 · 批次 %3/%4%5 · 损失 %6%7</translation>
    </message>
    <message>
        <source>Stopped</source>
        <translation>已停止</translation>
    </message>
    <message>
        <source>Finished</source>
        <translation>已完成</translation>
    </message>
    <message>
        <source>test %1 %2</source>
        <translation>测试%1 %2</translation>
    </message>
    <message>
        <source>Failed</source>
        <translation>失败</translation>
    </message>
    <message>
        <source>Training failed</source>
        <translation>训练失败</translation>
    </message>
    <message>
        <source>&lt;b&gt;Training failed.&lt;/b&gt; %1</source>
        <translation>&lt;b&gt;训练失败。&lt;/b&gt; %1</translation>
    </message>
</context>
<context>
    <name>TrainingSettings</name>
    <message>
        <source>epochs</source>
        <translation>训练轮数</translation>
    </message>
    <message>
        <source>device</source>
        <translation>设备</translation>
    </message>
    <message>
        <source>seed</source>
        <translation>随机种子</translation>
    </message>
    <message>
        <source>mixed precision</source>
        <translation>混合精度</translation>
    </message>
    <message>
        <source>gradient clipping</source>
        <translation>梯度裁剪</translation>
    </message>
    <message>
        <source>monitor</source>
        <translation>监控指标</translation>
    </message>
    <message>
        <source>early stopping</source>
        <translation>提前停止</translation>
    </message>
    <message>
        <source>patience</source>
        <translation>耐心轮数</translation>
    </message>
    <message>
        <source>minimum improvement</source>
        <translation>最小改进</translation>
    </message>
    <message>
        <source>CPU threads</source>
        <translation>CPU 线程数</translation>
    </message>
    <message>
        <source>checkpoint</source>
        <translation>检查点</translation>
    </message>
    <message>
        <source>synchronized batch norm</source>
        <translation>同步批归一化</translation>
    </message>
    <message>
        <source>distillation weight</source>
        <translation>蒸馏权重</translation>
    </message>
    <message>
        <source>distillation temperature</source>
        <translation>蒸馏温度</translation>
    </message>
    <message>
        <source>initial weights</source>
        <translation>初始权重</translation>
    </message>
    <message>
        <source>model memory limit (GB)</source>
        <translation>模型内存上限（GB）</translation>
    </message>
</context>
<context>
    <name>TuneEditor</name>
    <message>
        <source>tune</source>
        <translation>调参</translation>
    </message>
    <message>
        <source>try several values of this parameter in a study (Tuning dock)</source>
        <translation>在调参研究中尝试此参数的多个取值（调参面板）</translation>
    </message>
    <message>
        <source>log</source>
        <translation>对数</translation>
    </message>
    <message>
        <source>declared limits: %1</source>
        <translation>声明的范围：%1</translation>
    </message>
</context>
<context>
    <name>TuningPanel</name>
    <message>
        <source>running</source>
        <translation>运行中</translation>
    </message>
    <message>
        <source>complete</source>
        <translation>已完成</translation>
    </message>
    <message>
        <source>pruned</source>
        <translation>已剪枝</translation>
    </message>
    <message>
        <source>fail</source>
        <translation>失败</translation>
    </message>
    <message>
        <source>waiting</source>
        <translation>等待中</translation>
    </message>
    <message>
        <source>&lt;b&gt;Search space&lt;/b&gt; &lt;span style=&apos;color:#888&apos;&gt;(mark parameters “tune” in Properties)&lt;/span&gt;</source>
        <translation>&lt;b&gt;搜索空间&lt;/b&gt; &lt;span style=&apos;color:#888&apos;&gt;（在属性面板中把参数标记为“调参”）&lt;/span&gt;</translation>
    </message>
    <message>
        <source>target</source>
        <translation>目标</translation>
    </message>
    <message>
        <source>values</source>
        <translation>取值</translation>
    </message>
    <message>
        <source>Add setting</source>
        <translation>添加训练设置</translation>
    </message>
    <message>
        <source>Remove</source>
        <translation>移除</translation>
    </message>
    <message>
        <source>none</source>
        <translation>无</translation>
    </message>
    <message>
        <source>project&apos;s</source>
        <translation>沿用项目设置</translation>
    </message>
    <message>
        <source>runs/tune-&lt;project&gt;</source>
        <translation>runs/tune-&lt;项目名&gt;</translation>
    </message>
    <message>
        <source>sampler</source>
        <translation>采样器</translation>
    </message>
    <message>
        <source>pruner</source>
        <translation>剪枝器</translation>
    </message>
    <message>
        <source>the study&apos;s total of finished trials: a study continued in the same folder runs only the rest</source>
        <translation>研究已完成试验的总数：在同一文件夹中继续的研究只运行剩余的试验</translation>
    </message>
    <message>
        <source>trials (total)</source>
        <translation>试验（总数）</translation>
    </message>
    <message>
        <source>%1 more trials, %2 %3 …</source>
        <translation>还有 %1 次试验，%2 %3 …</translation>
    </message>
    <message>
        <source>timeout</source>
        <translation>时间上限</translation>
    </message>
    <message>
        <source>epochs</source>
        <translation>个 epoch</translation>
    </message>
    <message>
        <source>folder</source>
        <translation>文件夹</translation>
    </message>
    <message>
        <source>Start</source>
        <translation>启动</translation>
    </message>
    <message>
        <source>Stop</source>
        <translation>停止</translation>
    </message>
    <message>
        <source>Open best</source>
        <translation>打开最佳结果</translation>
    </message>
    <message>
        <source>best so far</source>
        <translation>目前最佳</translation>
    </message>
    <message>
        <source>trial</source>
        <translation>试验</translation>
    </message>
    <message>
        <source>parameters against the objective</source>
        <translation>参数与目标值</translation>
    </message>
    <message>
        <source>starting a study in %1 …</source>
        <translation>正在 %1 中开始调参研究…</translation>
    </message>
    <message>
        <source>The tuning study “%1” is running in %2 (%3 trials finished). Closing stops it; the running trial is marked failed and the finished ones are kept.</source>
        <translation>调优研究“%1”正在 %2 中运行（已完成 %3 次试验）。关闭将停止它；正在运行的试验被标记为失败，已完成的试验会保留。</translation>
    </message>
    <message>
        <source>stopping after the running trial&apos;s next batch …</source>
        <translation>将在当前试验的下一个批次后停止…</translation>
    </message>
    <message>
        <source>trial %1 of %2%3</source>
        <translation>第 %1/%2 次试验%3</translation>
    </message>
    <message>
        <source>value</source>
        <translation>值</translation>
    </message>
    <message>
        <source>state</source>
        <translation>状态</translation>
    </message>
    <message>
        <source>seconds</source>
        <translation>秒</translation>
    </message>
    <message>
        <source>stopped</source>
        <translation>已停止</translation>
    </message>
    <message>
        <source>done</source>
        <translation>已完成</translation>
    </message>
    <message>
        <source>%1: no trial completed</source>
        <translation>%1：没有完成的试验</translation>
    </message>
    <message>
        <source>%1: best %2 %3 (trial %4); %5 trials in %6</source>
        <translation>%1：最佳 %2 %3（第 %4 次试验）；%5 次试验，结果在 %6</translation>
    </message>
    <message>
        <source>&lt;br&gt;importances: %1</source>
        <translation>&lt;br&gt;重要性：%1</translation>
    </message>
    <message>
        <source>parameters against %1 (yellow: best)</source>
        <translation>参数与 %1（黄色：最佳）</translation>
    </message>
    <message>
        <source>%1 trials will run (trials is the study&apos;s total)</source>
        <translation>将运行 %1 次试验（试验数是研究的总数）</translation>
    </message>
    <message>
        <source>the study holds %1 finished trial</source>
        <translation>研究已有 %1 次完成的试验</translation>
    </message>
    <message>
        <source>the study holds %1 finished trials</source>
        <translation>研究已有 %1 次完成的试验</translation>
    </message>
    <message>
        <source> (%1 running)</source>
        <translation>（%1 次运行中）</translation>
    </message>
    <message>
        <source>%1; %2 more will run to reach %3 in total</source>
        <translation>%1；将再运行 %2 次，共达 %3 次</translation>
    </message>
    <message>
        <source>%1; trials %2 is a total, so none more will run (ask for more than %3)</source>
        <translation>%1；试验数 %2 是总数，因此不再运行（请设为大于 %3）</translation>
    </message>
</context>
<context>
    <name>_RunDialog</name>
    <message>
        <source>Model</source>
        <translation>模型</translation>
    </message>
    <message>
        <source>error: %1</source>
        <translation>错误：%1</translation>
    </message>
</context>
<context>
    <name>_TextEditor</name>
    <message>
        <source>sizes, e.g. 1, 28, 28</source>
        <translation>各维尺寸，例如 1, 28, 28</translation>
    </message>
    <message>
        <source>one number or %1</source>
        <translation>一个数，或 %1</translation>
    </message>
    <message>
        <source>Choose from the file&apos;s columns</source>
        <translation>从文件的列中选择</translation>
    </message>
    <message>
        <source>Choose a file</source>
        <translation>选择文件</translation>
    </message>
    <message>
        <source>Data files (%1)</source>
        <translation>数据文件 (%1)</translation>
    </message>
    <message>
        <source>All files (*)</source>
        <translation>所有文件 (*)</translation>
    </message>
    <message>
        <source>Choose %1</source>
        <translation>选择 %1</translation>
    </message>
</context>
</TS>
