// Test-only: a second extension that uses the Arbitrage language model through vscode.lm (select,
// sendRequest, stream), so the e2e test reaches the provider VS Code registered, in the real
// extension host of VS Code 1.139. The question is the first line of question.md in the workspace.
const vscode = require("vscode");

exports.activate = (context) => {
  context.subscriptions.push(
    vscode.commands.registerCommand("arbitrageTests.askLm", async () => {
      const folder = vscode.workspace.workspaceFolders[0].uri;
      const write = (result) => vscode.workspace.fs.writeFile(vscode.Uri.joinPath(folder, "lm-answer.json"), Buffer.from(JSON.stringify(result)));
      try {
        const question = Buffer.from(await vscode.workspace.fs.readFile(vscode.Uri.joinPath(folder, "question.md")))
          .toString("utf8")
          .split("\n")[0];
        const models = await vscode.lm.selectChatModels({ vendor: "arbitrage" });
        if (models.length === 0) return write({ error: "no model of vendor arbitrage" });
        const model = models[0];
        const response = await model.sendRequest([vscode.LanguageModelChatMessage.User(question)], {
          justification: "e2e test of the Arbitrage model",
        });
        const fragments = [];
        for await (const fragment of response.text) fragments.push(fragment);
        await write({ model: { id: model.id, name: model.name, vendor: model.vendor }, fragments });
      } catch (e) {
        await write({ error: e instanceof Error ? `${e.name}: ${e.message}` : String(e) });
      }
    }),
  );
};
